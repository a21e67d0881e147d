/**
 * Hostile and unusual requests against the Node target, end to end: real loopback origins, the
 * undici forwarder, raw sockets (node:net) for what an HTTP client would never send.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { relayMode } from './_relay-mode.ts';
import { closedPort, rawRequest } from './_harness.ts';
import { openRaw, parseRaw, rawExchange } from './_raw.ts';

let echo: EchoOrigin;
/**
 * Origin for response shapes: `/odd/continue` sends an unsolicited 100 Continue before its 200,
 * `/odd/304`, `/odd/204` answer without a Content-Type, any other path 200 without one.
 */
let odd: Server;
/** A raw TCP origin that sends two 100 heads in pieces, then a 200, keeping the connection. */
let split: TcpServer;
let deadPort = 0;
let gw: NodeServer;
let trustedGw: NodeServer;
const logs: Record<string, unknown>[] = [];

type Seen = { headers: Record<string, string>; method: string; path: string };

function config(): PorticoConfig {
  return {
    trustedProxies: [],
    origins: {
      echo: { url: echo.url, region: 'eu-west', timeoutMs: 3000 },
      odd: { url: `http://127.0.0.1:${(odd.address() as AddressInfo).port}`, region: 'eu-west', timeoutMs: 3000 },
      split: { url: `http://127.0.0.1:${(split.address() as AddressInfo).port}`, region: 'eu-west', timeoutMs: 3000 },
      dead: { url: `http://127.0.0.1:${deadPort}`, region: 'nowhere', timeoutMs: 1000 },
    },
    routes: [
      { id: 'bank', match: { path: '/*', hosts: ['bank.example'] }, upstream: 'echo' },
      { id: 'traceable', match: { path: '/trace-ok', methods: ['GET', 'TRACE'] }, upstream: 'echo' },
      { id: 'echo', match: { path: '/echo/*' }, upstream: 'echo' },
      { id: 'odd', match: { path: '/odd/*' }, upstream: 'odd' },
      { id: 'split', match: { path: '/split' }, upstream: 'split' },
      { id: 'failover', match: { path: '/failover' }, upstream: ['dead', 'echo'] },
    ],
  };
}

beforeAll(async () => {
  echo = await startEchoOrigin({ region: 'eu-west' });
  deadPort = await closedPort();
  odd = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/odd/continue') {
        res.writeContinue();
        setTimeout(() => res.end('after continue'), 20);
      } else if (req.url === '/odd/304') {
        res.writeHead(304, { etag: '"v1"' });
        res.end();
      } else if (req.url === '/odd/break') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part of it');
        setTimeout(() => res.destroy(), 30);
      } else if (req.url === '/odd/204') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(200, { 'content-length': '2' });
        res.end(req.method === 'HEAD' ? undefined : 'ok');
      }
    });
  });
  await new Promise<void>((r) => odd.listen(0, '127.0.0.1', r));
  split = createTcpServer((socket) => {
    socket.on('data', (data) => {
      if (!data.includes('\r\n\r\n')) return;
      const pieces = [
        'HTTP/1.1 10',
        '0 Continue\r\n',
        '\r\nHTTP/1.1 100\r\n\r\n',
        'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsplit',
      ];
      for (const [i, piece] of pieces.entries()) setTimeout(() => socket.write(piece), i * 15);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => split.listen(0, '127.0.0.1', r));
  const hot = await loadNodeHot('wasm');
  gw = await startNodeServer(await compileConfig(config()), { ...relayMode, port: 0, hot, log: (r) => logs.push(r) });
  trustedGw = await startNodeServer(await compileConfig({ ...config(), trustedProxies: ['127.0.0.1'] }), {
    ...relayMode,
    port: 0,
    hot,
    log: () => {},
  });
});

afterAll(async () => {
  await gw?.drain();
  await trustedGw?.drain();
  await echo?.close();
  await new Promise<void>((r) => (odd ? odd.close(() => r()) : r()));
  await new Promise<void>((r) => (split ? split.close(() => r()) : r()));
});

function seenOf(body: string): Seen {
  return JSON.parse(body) as Seen;
}

describe('TRACE', () => {
  it('refuses TRACE with 405 problem+json on a route that does not list it, and never forwards it', async () => {
    const before = echo.seen.length;
    const res = await rawRequest(gw.url, '/echo/x', { method: 'TRACE', headers: { cookie: 'session=secret' } });
    expect(res.status).toBe(405);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()['code']).toBe('ERR_METHOD_NOT_ALLOWED');
    expect(res.headers['allow']).toBeDefined();
    expect(res.headers['allow']).not.toContain('TRACE');
    expect(echo.seen.length).toBe(before);
  });

  it('forwards TRACE on a route whose match.methods lists it', async () => {
    const res = await rawRequest(gw.url, '/trace-ok', { method: 'TRACE' });
    expect(res.status).toBe(200);
    expect(seenOf(res.body).method).toBe('TRACE');
  });
});

describe('forwarding headers from an untrusted peer', () => {
  const identity = {
    'x-forwarded-user': 'admin',
    'x-forwarded-email': 'admin@example.com',
    'x-forwarded-groups': 'admins',
    'x-forwarded-access-token': 'forged',
    'x-forwarded-client-cert': 'Hash=abc',
    'x-forwarded-ssl': 'on',
    'x-forwarded-scheme': 'https',
    'x-forwarded-prefix': '/admin',
    'x-forwarded-uri': '/admin',
    'x-forwarded-server': 'evil',
    'x-forwarded-preferred-username': 'root',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-port': '443',
    'x-forwarded-for': '6.6.6.6',
    'true-client-ip': '6.6.6.6',
    'cf-connecting-ip': '6.6.6.6',
    'x-real-ip': '6.6.6.6',
    'x-client-ip': '6.6.6.6',
    forwarded: 'for=6.6.6.6;proto=https',
  };

  it('discards every X-Forwarded-* and every client-address header the client sent', async () => {
    const res = await rawRequest(gw.url, '/echo/id', { headers: { ...identity, 'x-keep': 'yes' } });
    const h = seenOf(res.body).headers;
    for (const name of Object.keys(identity)) {
      if (name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'x-forwarded-host') continue;
      expect(h[name], name).toBeUndefined();
    }
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(new URL(gw.url).host);
    expect(h['x-keep']).toBe('yes');
  });

  it('passes the X-Forwarded-* family on from a trusted proxy', async () => {
    const res = await rawRequest(trustedGw.url, '/echo/id', { headers: identity });
    const h = seenOf(res.body).headers;
    expect(h['x-forwarded-user']).toBe('admin');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['true-client-ip']).toBe('6.6.6.6');
  });

  it('removes path and method overrides from every peer, trusted or not', async () => {
    const overrides = {
      'x-original-url': '/admin',
      'x-rewrite-url': '/admin',
      'x-http-method-override': 'DELETE',
      'x-http-method': 'DELETE',
      'x-method-override': 'DELETE',
    };
    for (const base of [gw.url, trustedGw.url]) {
      const h = seenOf((await rawRequest(base, '/echo/o', { headers: overrides })).body).headers;
      for (const name of Object.keys(overrides)) expect(h[name], `${name} via ${base}`).toBeUndefined();
    }
  });
});

describe('request targets and Host', () => {
  it('takes the scheme of an absolute-form target from the connection and its authority as the Host', async () => {
    const port = new URL(gw.url).port;
    const text = await rawExchange(
      gw.url,
      `GET https://bank.example/x HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    );
    const res = parseRaw(text);
    expect(res.status).toBe(200);
    const seen = seenOf(res.body);
    expect(seen.path).toBe('/x');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    // RFC 9112 §3.2.2: the target's authority replaces Host, for routing and for the origin alike.
    expect(seen.headers['x-forwarded-host']).toBe('bank.example');
  });

  it('refuses an absolute-form target whose scheme is not http or https with 400', async () => {
    const text = await rawExchange(
      gw.url,
      'GET ftp://bank.example/x HTTP/1.1\r\nHost: bank.example\r\nConnection: close\r\n\r\n',
    );
    expect(parseRaw(text).status).toBe(400);
  });

  it('answers 400 problem+json to a request with two Host headers and never forwards it', async () => {
    const before = echo.seen.length;
    const port = new URL(gw.url).port;
    const text = await rawExchange(
      gw.url,
      `GET /echo/two HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: bank.example\r\nConnection: close\r\n\r\n`,
    );
    const res = parseRaw(text);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toEqual(['application/problem+json']);
    expect(JSON.parse(res.body)['code']).toBe('ERR_BAD_HOST');
    expect(echo.seen.length).toBe(before);
  });
});

describe('Expect: 100-continue', () => {
  it('answers 100 Continue at the edge, then forwards the body without the Expect header', async () => {
    const ex = await openRaw(gw.url);
    ex.send(
      'PUT /echo/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n',
    );
    await ex.waitFor('HTTP/1.1 100 Continue\r\n\r\n');
    ex.send('hello');
    await ex.closed;
    const text = ex.received().slice(ex.received().indexOf('\r\n\r\n') + 4);
    const res = parseRaw(text);
    expect(res.status).toBe(200);
    const seen = seenOf(res.body) as Seen & { body: string };
    expect(seen.body).toBe('hello');
    expect(seen.headers['expect']).toBeUndefined();
  });

  it('takes an upload of 2 MiB from curl -T, which sends Expect: 100-continue', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'portico-upload-')), 'upload.bin');
    await writeFile(file, Buffer.alloc(2 * 1024 * 1024, 97));
    // Not spawnSync: the gateway runs in this process and must keep answering.
    const child = spawn('curl', ['-sS', '-v', '-T', file, `${gw.url}/echo/upload`]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/> Expect: 100-continue/i);
    expect(stderr).toMatch(/< HTTP\/1\.1 100 Continue/);
    const seen = JSON.parse(stdout) as { bodyBytes: number; headers: Record<string, string> };
    expect(seen.bodyBytes).toBe(2 * 1024 * 1024);
    expect(seen.headers['expect']).toBeUndefined();
  });
});

describe('responses of the origin', () => {
  it("skips an origin's unsolicited 100 Continue and relays its 200, for GET and for POST", async () => {
    const get = await rawRequest(gw.url, '/odd/continue');
    expect(get.status).toBe(200);
    expect(get.body).toBe('after continue');
    const post = await rawRequest(gw.url, '/odd/continue', { method: 'POST', body: 'x' });
    expect(post.status).toBe(200);
    expect(post.body).toBe('after continue');
  });

  it('skips several 100 heads arriving in pieces, and the connection serves the next request', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await rawRequest(gw.url, '/split');
      expect(res.status).toBe(200);
      expect(res.body).toBe('split');
    }
  });

  it('adds no Content-Type to a 304, a 204 or a HEAD answer that had none', async () => {
    for (const [path, method, status] of [
      ['/odd/304', 'GET', 304],
      ['/odd/204', 'GET', 204],
      ['/odd/plain', 'HEAD', 200],
    ] as const) {
      const res = await rawRequest(gw.url, path, { method });
      expect(res.status, path).toBe(status);
      expect(res.headers['content-type'], `${method} ${path}`).toBeUndefined();
    }
    expect((await rawRequest(gw.url, '/odd/304')).headers['etag']).toBe('"v1"');
  });
});

describe('a client that goes away', () => {
  it('is logged at info as ERR_CLIENT_CLOSED with status 499, not as an internal error', async () => {
    const url = new URL(gw.url);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: '/echo/leave?delay=2000',
      headers: { 'x-request-id': 'leaves-early-1' },
      agent: false,
    });
    req.on('error', () => {});
    req.end();
    await new Promise((r) => setTimeout(r, 300));
    req.destroy();
    await vi.waitFor(() => expect(logs.find((l) => l['requestId'] === 'leaves-early-1')).toBeDefined(), { timeout: 3000 });
    const records = logs.filter((l) => l['requestId'] === 'leaves-early-1');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 'info', msg: 'request', status: 499, code: 'ERR_CLIENT_CLOSED', route: 'echo' });
  });
});

describe("errors of Node's HTTP parser", () => {
  function expectProblem(text: string, status: number, code: string): void {
    const res = parseRaw(text);
    expect(res.status, text.slice(0, 200)).toBe(status);
    expect(res.headers['content-type']).toEqual(['application/problem+json']);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toMatchObject({ status, code });
    expect(Number(res.headers['content-length']?.[0])).toBe(Buffer.byteLength(res.body));
  }

  it('answers a malformed request line with 400 problem+json', async () => {
    expectProblem(await rawExchange(gw.url, 'NOT A REQUEST\r\n\r\n'), 400, 'ERR_BAD_REQUEST');
  });

  it('answers a malformed header with 400 problem+json', async () => {
    expectProblem(await rawExchange(gw.url, 'GET /echo/x HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n'), 400, 'ERR_BAD_REQUEST');
  });

  it('answers headers over the size limit with 431 problem+json', async () => {
    const big = 'x'.repeat(20_000);
    expectProblem(
      await rawExchange(gw.url, `GET /echo/x HTTP/1.1\r\nHost: a\r\nX-Big: ${big}\r\n\r\n`),
      431,
      'ERR_HEADERS_TOO_LARGE',
    );
  });

  it('answers an expectation other than 100-continue with 417 problem+json', async () => {
    expectProblem(
      await rawExchange(
        gw.url,
        'PUT /echo/x HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx',
      ),
      417,
      'ERR_EXPECTATION_FAILED',
    );
  });

  it('answers a client too slow to send its headers with 408 problem+json after headersTimeoutMs', async () => {
    const slow = await startNodeServer(await compileConfig(config()), {
      ...relayMode,
      port: 0,
      hot: await loadNodeHot('wasm'),
      log: () => {},
      headersTimeoutMs: 500,
    });
    const started = Date.now();
    const ex = await openRaw(slow.url);
    ex.send('GET /echo/x HTTP/1.1\r\nHost: a\r\n');
    await ex.closed;
    expectProblem(ex.received(), 408, 'ERR_REQUEST_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
    await slow.drain();
  });
});

describe('logs', () => {
  const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

  it('gives every record an ISO 8601 time, and the access log the origin and region that answered', async () => {
    await rawRequest(gw.url, '/echo/logged', { headers: { 'x-request-id': 'log-origin-1' } });
    await rawExchange(gw.url, 'NOT A REQUEST\r\n\r\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const record of logs) expect(record['time'], JSON.stringify(record)).toMatch(ISO);
    const access = logs.find((l) => l['requestId'] === 'log-origin-1');
    expect(access).toMatchObject({ msg: 'request', route: 'echo', origin: 'echo', region: 'eu-west', status: 200 });
    expect(Math.abs(Date.parse(String(access?.['time'])) - Date.now())).toBeLessThan(10_000);
  });

  it('logs a failover with the origin that failed and the next, and the access log names the one that answered', async () => {
    const res = await rawRequest(gw.url, '/failover', { headers: { 'x-request-id': 'log-failover-1' } });
    expect(res.status).toBe(200);
    const records = logs.filter((l) => l['requestId'] === 'log-failover-1');
    expect(records.find((l) => l['level'] === 'warn')).toMatchObject({
      method: 'GET',
      path: '/failover',
      route: 'failover',
      origin: 'dead',
      region: 'nowhere',
      next: 'echo',
    });
    expect(records.find((l) => l['msg'] === 'request')).toMatchObject({ status: 200, origin: 'echo', region: 'eu-west' });
  });

  it('puts method, path and route on error records', async () => {
    const url = new URL(gw.url);
    await new Promise<void>((resolve) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: '/odd/break', agent: false, headers: { 'x-request-id': 'log-error-1' } },
        (res) => {
          res.resume();
          res.on('close', () => resolve());
        },
      );
      req.on('error', () => resolve());
      req.end();
    });
    await vi.waitFor(() => expect(logs.find((l) => l['requestId'] === 'log-error-1' && l['level'] === 'error')).toBeDefined());
    const error = logs.find((l) => l['requestId'] === 'log-error-1' && l['level'] === 'error');
    expect(error).toMatchObject({ method: 'GET', path: '/odd/break', route: 'odd', origin: 'odd', region: 'eu-west' });
  });
});
