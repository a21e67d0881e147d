/**
 * The gateway on Node, end to end: real loopback origins, the real undici forwarder, the real
 * Wasm hot path, requests over real sockets.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { normalizePath } from '../../core/http/normalize.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { relayMode } from './_relay-mode.ts';
import { closedPort, rawRequest, readBodyOutcome, resettingOrigin } from './_harness.ts';

let eu: EchoOrigin;
let us: EchoOrigin;
let admin: EchoOrigin;
let reset: { url: string; close(): Promise<void> };
let hopOrigin: Server;
/** An origin that never answers; it records when the gateway gives up on a request. */
let hangOrigin: Server;
/** An origin for the shape of responses: cookies, late bodies, small chunked bodies. */
let shapeOrigin: Server;
const hangClosedAt: number[] = [];
let gw: NodeServer;
let untrustedGw: NodeServer;
const logs: Record<string, unknown>[] = [];

function config(deadPort: number, hopUrl: string, hangUrl: string, shapeUrl: string): PorticoConfig {
  return {
    trustedProxies: ['127.0.0.1', '::1'],
    origins: {
      eu: { url: eu.url, region: 'eu-west', timeoutMs: 1000 },
      us: { url: us.url, region: 'us-east', timeoutMs: 1000 },
      admin: { url: admin.url, region: 'internal' },
      dead: { url: `http://127.0.0.1:${deadPort}`, region: 'nowhere', timeoutMs: 1000 },
      reset: { url: reset.url, region: 'nowhere' },
      hop: { url: hopUrl, region: 'eu-west' },
      hang: { url: hangUrl, region: 'eu-west', timeoutMs: 20000 },
      shape: { url: shapeUrl, region: 'eu-west' },
    },
    routes: [
      { id: 'admin', match: { path: '/admin' }, upstream: 'admin' },
      { id: 'admin-tree', match: { path: '/admin/*' }, upstream: 'admin' },
      { id: 'status', match: { path: '/api/status', methods: ['GET'] }, upstream: 'eu' },
      {
        id: 'user-canary',
        match: { path: '/api/users/:id', methods: ['GET'], headers: { 'x-canary': '1' } },
        upstream: 'us',
      },
      { id: 'user', match: { path: '/api/users/:id', methods: ['GET', 'PUT'] }, upstream: 'eu' },
      {
        id: 'api',
        match: { path: '/api/*' },
        upstream: 'eu',
        rewrite: { stripPrefix: '/api' },
        requestHeaders: { set: { 'x-gateway': 'portico' }, remove: ['cookie'] },
        responseHeaders: { set: { 'x-served-by': 'portico' }, remove: ['x-origin-secret'] },
      },
      { id: 'v1', match: { path: '/v1/*' }, upstream: 'us', rewrite: { replacePrefix: { from: '/v1', to: '/v2' } } },
      { id: 'report', match: { regex: '^/reports/(?<year>\\d{4})\\.csv$' }, upstream: 'us' },
      { id: 'tenant', match: { path: '/*', hosts: ['*.tenants.test'] }, upstream: 'us' },
      { id: 'exact-host', match: { path: '/*', hosts: ['eu.tenants.test'] }, upstream: 'eu' },
      { id: 'upload', match: { path: '/upload', methods: ['POST'] }, upstream: 'eu', timeoutMs: 30000 },
      { id: 'orders', match: { path: '/orders/:id', methods: ['GET'] }, upstream: 'eu' },
      { id: 'failover', match: { path: '/failover' }, upstream: ['dead', 'us'] },
      { id: 'dead', match: { path: '/dead' }, upstream: 'dead' },
      { id: 'reset', match: { path: '/reset' }, upstream: 'reset' },
      { id: 'hop', match: { path: '/hop' }, upstream: 'hop' },
      { id: 'hang', match: { path: '/hang' }, upstream: 'hang' },
      { id: 'shape', match: { path: '/shape/*' }, upstream: 'shape' },
    ],
  };
}

beforeAll(async () => {
  eu = await startEchoOrigin({ region: 'eu-west' });
  us = await startEchoOrigin({ region: 'us-east' });
  admin = await startEchoOrigin({ region: 'internal-admin' });
  reset = await resettingOrigin();
  // An origin that sends hop-by-hop headers, including one it names in Connection.
  hopOrigin = createServer((_req, res) => {
    res.setHeader('connection', 'x-hop-only');
    res.setHeader('x-hop-only', 'secret');
    res.setHeader('keep-alive', 'timeout=5');
    res.setHeader('x-end-to-end', 'kept');
    res.end('ok');
  });
  await new Promise<void>((r) => hopOrigin.listen(0, '127.0.0.1', r));
  const hopUrl = `http://127.0.0.1:${(hopOrigin.address() as AddressInfo).port}`;
  hangOrigin = createServer((req) => {
    req.socket.once('close', () => hangClosedAt.push(Date.now()));
  });
  await new Promise<void>((r) => hangOrigin.listen(0, '127.0.0.1', r));
  const hangUrl = `http://127.0.0.1:${(hangOrigin.address() as AddressInfo).port}`;
  shapeOrigin = createServer((req, res) => {
    req.resume();
    if (req.url === '/shape/cookies') {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
      res.end('two cookies');
    } else if (req.url === '/shape/big') {
      // 16 MiB as fast as the socket takes it.
      const piece = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (sent < 256) {
          sent++;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (sent = 256));
      pump();
    } else if (req.url === '/shape/late') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      setTimeout(() => res.end('late body'), 800);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('abc');
      res.end();
    }
  });
  await new Promise<void>((r) => shapeOrigin.listen(0, '127.0.0.1', r));
  const shapeUrl = `http://127.0.0.1:${(shapeOrigin.address() as AddressInfo).port}`;
  const cfg = config(await closedPort(), hopUrl, hangUrl, shapeUrl);
  const hot = await loadNodeHot('wasm');
  gw = await startNodeServer(await compileConfig(cfg), { ...relayMode, port: 0, hot, log: (r) => logs.push(r) });
  untrustedGw = await startNodeServer(await compileConfig({ ...cfg, trustedProxies: [] }), {
    ...relayMode,
    port: 0,
    hot,
    log: () => {},
  });
});

afterAll(async () => {
  await gw?.drain();
  await untrustedGw?.drain();
  await Promise.all([eu?.close(), us?.close(), admin?.close(), reset?.close()]);
  await new Promise<void>((r) => (hopOrigin ? hopOrigin.close(() => r()) : r()));
  hangOrigin?.closeAllConnections();
  await new Promise<void>((r) => (shapeOrigin ? shapeOrigin.close(() => r()) : r()));
  await new Promise<void>((r) => (hangOrigin ? hangOrigin.close(() => r()) : r()));
});

describe('routing', () => {
  it('sends an exact route to its origin with the path unchanged', async () => {
    const res = await rawRequest(gw.url, '/api/status?x=1&y=%20');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ region: 'eu-west', path: '/api/status?x=1&y=%20' });
  });

  it('prefers the header-conditioned route when its condition holds', async () => {
    expect((await rawRequest(gw.url, '/api/users/42', { headers: { 'x-canary': '1' } })).json()).toMatchObject({
      region: 'us-east',
    });
    expect((await rawRequest(gw.url, '/api/users/42', { headers: { 'x-canary': '2' } })).json()).toMatchObject({
      region: 'eu-west',
    });
  });

  it('strips a prefix and applies request and response header transforms', async () => {
    const res = await rawRequest(gw.url, '/api/orders/7?limit=2', { headers: { cookie: 'session=abc' } });
    const echo = res.json<{ path: string; headers: Record<string, string> }>();
    expect(echo.path).toBe('/orders/7?limit=2');
    expect(echo.headers['x-gateway']).toBe('portico');
    expect(echo.headers['cookie']).toBeUndefined();
    expect(res.headers['x-served-by']).toBe('portico');
    expect(res.headers['x-origin-secret']).toBeUndefined();
  });

  it('strips a prefix down to "/" when nothing follows it', async () => {
    expect((await rawRequest(gw.url, '/api')).json()).toMatchObject({ path: '/' });
  });

  it('replaces a version segment', async () => {
    expect((await rawRequest(gw.url, '/v1/catalog/items')).json()).toMatchObject({
      region: 'us-east',
      path: '/v2/catalog/items',
    });
    expect((await rawRequest(gw.url, '/v1')).json()).toMatchObject({ path: '/v2' });
  });

  it('matches regex routes on the whole normalized path', async () => {
    expect((await rawRequest(gw.url, '/reports/2026.csv')).json()).toMatchObject({ region: 'us-east' });
    expect((await rawRequest(gw.url, '/reports/2026.csvx')).status).toBe(404);
  });

  it('routes by host: an exact host beats a wildcard host, and a wildcard needs a subdomain', async () => {
    expect((await rawRequest(gw.url, '/x', { headers: { host: 'eu.tenants.test' } })).json()).toMatchObject({
      region: 'eu-west',
    });
    expect((await rawRequest(gw.url, '/x', { headers: { host: 'ACME.Tenants.Test:8080' } })).json()).toMatchObject({
      region: 'us-east',
    });
    expect((await rawRequest(gw.url, '/x', { headers: { host: 'tenants.test' } })).status).toBe(404);
  });

  it('answers HEAD on a GET route without a body', async () => {
    const res = await rawRequest(gw.url, '/api/status', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
  });

  it('answers 404 as problem+json when no route matches', async () => {
    const res = await rawRequest(gw.url, '/nothing/here');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()).toMatchObject({
      status: 404,
      title: 'Not Found',
      code: 'ERR_ROUTE_NOT_FOUND',
      type: expect.stringContaining('route-not-found'),
    });
  });

  it('answers 405 with Allow when only the method is wrong', async () => {
    const res = await rawRequest(gw.url, '/orders/1', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET, HEAD');
    expect(res.json()).toMatchObject({ status: 405, code: 'ERR_METHOD_NOT_ALLOWED' });
  });
});

describe('reserved endpoints', () => {
  it('serves /health and /ready from the gateway itself', async () => {
    const health = await rawRequest(gw.url, '/health');
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok', config: expect.stringMatching(/^sha256-/) });
    const ready = await rawRequest(gw.url, '/ready', { headers: { host: 'eu.tenants.test' } });
    expect(ready.json()).toEqual({ status: 'ready' });
  });
});

describe('normalization before matching', () => {
  // Each hostile path either gets 400, or reaches exactly the route its normalized form matches,
  // and that origin receives exactly the normalized path.
  const hostile = [
    '/api/../admin',
    '/api/./../admin',
    '/%2e%2e/admin',
    '/api/%2e%2e/admin',
    '/api/.%2E/admin',
    '/api%2F..%2Fadmin',
    '/api%2f..%2fadmin',
    '/api/%252e%252e/admin',
    '/api/%252e%252e%252fadmin',
    '/api/%25252e/admin',
    '/api/..%2fadmin',
    '/api/..%5cadmin',
    '/api/..\\admin',
    '/api/..;/admin',
    '/api;/../admin',
    '/api/%00/../admin',
    '/api/%c0%ae%c0%ae/admin',
    '//admin',
    '/ADMIN',
    '/%61dmin',
    '/api/users/%2e%2e',
    '/api/users/..%00',
    '/./admin/',
    '/admin%2f',
  ];
  it.each(hostile)('handles %s safely', async (target) => {
    const before = admin.seen.length;
    const res = await rawRequest(gw.url, target);
    // What the gateway sees: the WHATWG URL of the request, as every runtime builds it.
    const normalized = normalizePath(new URL(`http://gw.test${target}`).pathname);
    // A raw backslash is read as "/" on Node too (targets/node/server.ts), as the URL parsers
    // of the other runtimes do.
    if (!normalized.ok) {
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(admin.seen.length).toBe(before);
      return;
    }
    const explained = gw.gateway.matcher.find('GET', '127.0.0.1', normalized.path, new Headers());
    if (explained.kind !== 'match') {
      expect(res.status).toBe(404);
      return;
    }
    expect(res.status).toBe(200);
    const echo = res.json<{ path: string; region: string }>();
    const expectedRegion = { admin: 'internal-admin', 'admin-tree': 'internal-admin' }[explained.match.route.id];
    if (expectedRegion) expect(echo.region).toBe(expectedRegion);
    else expect(echo.region).not.toBe('internal-admin');
    // The origin got the normalized path (after the route's own rewrite), nothing else.
    const id = explained.match.route.id;
    const expectedPath = id === 'api' ? normalized.path.replace(/^\/api/, '') || '/' : normalized.path;
    expect(echo.path).toBe(expectedPath);
  });
});

describe('forwarded headers', () => {
  it('removes hop-by-hop request headers, including those named in Connection', async () => {
    const res = await rawRequest(gw.url, '/api/status', {
      headers: { connection: 'x-private', 'x-private': '1', te: 'trailers', 'proxy-authorization': 'Basic abc', 'x-keep': 'yes' },
    });
    const h = res.json<{ headers: Record<string, string> }>().headers;
    expect(h['x-private']).toBeUndefined();
    expect(h['te']).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h['x-keep']).toBe('yes');
  });

  it('removes hop-by-hop response headers, including those the origin named in Connection', async () => {
    const res = await rawRequest(gw.url, '/hop');
    expect(res.headers['x-hop-only']).toBeUndefined();
    expect(res.headers['x-end-to-end']).toBe('kept');
  });

  it('behind a trusted proxy, takes the rightmost untrusted address as the client', async () => {
    const res = await rawRequest(gw.url, '/api/status', {
      headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' },
    });
    const h = res.json<{ headers: Record<string, string> }>().headers;
    expect(h['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['x-forwarded-host']).toBe('shop.example');
  });

  it('from an untrusted peer, ignores X-Forwarded-* sent by the client', async () => {
    const res = await rawRequest(untrustedGw.url, '/api/status', {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        forwarded: 'for=6.6.6.6',
      },
    });
    const h = res.json<{ headers: Record<string, string> }>().headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(new URL(untrustedGw.url).host);
    expect(h['forwarded']).toBeUndefined();
  });

  it('propagates X-Request-ID, or generates one, to both the origin and the client', async () => {
    const given = await rawRequest(gw.url, '/api/status', { headers: { 'x-request-id': 'req-abc.123' } });
    expect(given.headers['x-request-id']).toBe('req-abc.123');
    expect(given.json<{ headers: Record<string, string> }>().headers['x-request-id']).toBe('req-abc.123');
    const fresh = await rawRequest(gw.url, '/api/status');
    const id = fresh.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.json<{ headers: Record<string, string> }>().headers['x-request-id']).toBe(id);
  });
});

describe('origin failures', () => {
  function expectSafeProblem(body: string, status: number): void {
    const p = JSON.parse(body) as Record<string, unknown>;
    expect(p['status']).toBe(status);
    expect(Object.keys(p).sort()).toEqual(['code', 'detail', 'requestId', 'status', 'title', 'type']);
    // No upstream address, port, stack or internal names in what the client sees.
    expect(body).not.toMatch(/127\.0\.0\.1|localhost|ECONN|at .*\.ts|stack|nowhere/i);
  }

  it('answers 504 problem+json when the origin is slower than its timeout', async () => {
    const started = Date.now();
    const res = await rawRequest(gw.url, '/api/slow?delay=3000');
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expectSafeProblem(res.body, 504);
  });

  it('answers 502 problem+json when the origin refuses the connection', async () => {
    const res = await rawRequest(gw.url, '/dead');
    expect(res.status).toBe(502);
    expectSafeProblem(res.body, 502);
  });

  it('answers 502 problem+json when the origin resets the connection', async () => {
    const res = await rawRequest(gw.url, '/reset');
    expect(res.status).toBe(502);
    expectSafeProblem(res.body, 502);
  });

  it('fails over to the next origin of the list when one is unreachable', async () => {
    const res = await rawRequest(gw.url, '/failover');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ region: 'us-east', path: '/failover' });
  });

  it('fails over GET and HEAD only: a POST goes to one origin, with or without a body', async () => {
    expect((await rawRequest(gw.url, '/failover', { method: 'HEAD' })).status).toBe(200);
    for (const body of [undefined, 'payload']) {
      const res = await rawRequest(gw.url, '/failover', { method: 'POST', body });
      expect(res.status).toBe(502);
      expectSafeProblem(res.body, 502);
    }
  });

  it('logs the cause for operators while the client sees none of it', async () => {
    await rawRequest(gw.url, '/dead', { headers: { 'x-request-id': 'log-check-1' } });
    const entry = logs.find((l) => l['requestId'] === 'log-check-1');
    expect(entry).toMatchObject({ level: 'error', code: 'ERR_UPSTREAM_UNREACHABLE', status: 502 });
  });
});

describe('streaming', () => {
  it('delivers the first bytes of a response before the origin has finished sending', async () => {
    const url = new URL(gw.url);
    const timings = await new Promise<{ first: number; end: number }>((resolve, reject) => {
      const started = Date.now();
      let first = -1;
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: '/api/stream?drip=5&gap=300&chunk=1024', agent: false },
        (res) => {
          res.on('data', () => {
            if (first < 0) first = Date.now() - started;
          });
          res.on('end', () => resolve({ first, end: Date.now() - started }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    // The origin takes ~1.5 s in all; the JSON line comes at once.
    expect(timings.end).toBeGreaterThan(1400);
    expect(timings.first).toBeLessThan(700);
  });

  it('breaks the client connection when the origin goes silent mid-body for longer than its timeout', async () => {
    // The origin sends its JSON line, then nothing for 3 s; the route's timeout is 1000 ms.
    const outcome = await readBodyOutcome(gw.url, '/api/stream?drip=2&gap=3000&chunk=16');
    expect(outcome.status).toBe(200);
    expect(outcome.body).toContain('"region":');
    // Nothing of the gateway's own is appended to the origin's bytes.
    expect(outcome.body).not.toMatch(/error|timeout/i);
    expect(outcome.ended).toBe('broken');
    // Operators hear of it: the client only saw its connection break.
    await vi.waitFor(() =>
      expect(logs).toContainEqual(
        expect.objectContaining({
          level: 'error',
          code: 'ERR_UPSTREAM_TIMEOUT',
          msg: 'origin went silent mid-body; client connection broken',
        }),
      ),
    );
    expect(outcome.ms).toBeGreaterThan(900);
    expect(outcome.ms).toBeLessThan(2800);
  });

  it('passes every Set-Cookie of the origin on', async () => {
    const res = await rawRequest(gw.url, '/shape/cookies');
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
    expect(res.body).toBe('two cookies');
  });

  it('sends the headers of a response at once when its body comes late', async () => {
    const url = new URL(gw.url);
    const started = Date.now();
    const { headersMs, body } = await new Promise<{ headersMs: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/shape/late', agent: false }, (res) => {
        const headersMs = Date.now() - started;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ headersMs, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(headersMs).toBeLessThan(500);
    expect(body).toBe('late body');
  });

  it('gives a small body that arrived whole a Content-Length instead of chunks', async () => {
    const res = await rawRequest(gw.url, '/shape/small');
    expect(res.body).toBe('abc');
    expect(res.headers['content-length']).toBe('3');
    expect(res.headers['transfer-encoding']).toBeUndefined();
  });

  it('survives a slow client that leaves while the gateway holds a piece of the body', async () => {
    const url = new URL(gw.url);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/shape/big', agent: false }, (res) => {
        // Read nothing: the sockets fill up and the gateway waits with a piece in hand.
        res.pause();
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 300);
      });
      req.on('error', () => {});
      req.setTimeout(5000, () => reject(new Error('no response')));
      req.end();
    });
    await new Promise((r) => setTimeout(r, 200));
    expect((await rawRequest(gw.url, '/health')).status).toBe(200);
  });

  it('cancels the origin request when the client goes away before the origin answers', async () => {
    const url = new URL(gw.url);
    const req = httpRequest({ host: url.hostname, port: url.port, path: '/hang', agent: false });
    req.on('error', () => {});
    req.end();
    // Let the gateway reach the origin, then leave.
    await new Promise((r) => setTimeout(r, 300));
    const leftAt = Date.now();
    req.destroy();
    // The origin's timeout is 20 s: only the client leaving can close the origin request now.
    await vi.waitFor(() => expect(hangClosedAt.length).toBe(1), { timeout: 3000 });
    expect(hangClosedAt[0]! - leftAt).toBeLessThan(2000);
  });

  it('logs no origin failure when the client goes away mid-body', async () => {
    const url = new URL(gw.url);
    const requestId = 'client-left-mid-body';
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: '/api/stream?drip=5&gap=200&chunk=16',
          agent: false,
          headers: { 'x-request-id': requestId },
        },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => {});
      req.setTimeout(5000, () => reject(new Error('no first chunk')));
      req.end();
    });
    // Past the origin's next chunks: the gateway has noticed the client is gone.
    await new Promise((r) => setTimeout(r, 700));
    expect(logs.filter((r) => r['requestId'] === requestId && r['level'] === 'error')).toEqual([]);
  });

  it('survives a client that breaks off in the middle of its request body', async () => {
    const url = new URL(gw.url);
    const before = eu.seen.length;
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/upload',
        agent: false,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(1024 * 1024) },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(64 * 1024, 1), () => setTimeout(() => req.destroy(), 100));
      req.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 300));
    // The request reached the origin before the client broke off, and the gateway still answers
    // (an unheard stream error would have failed this run).
    expect(eu.seen.slice(before).map((o) => o.url)).toContain('/upload');
    expect((await rawRequest(gw.url, '/health')).status).toBe(200);
  });

  it('streams a request body to the origin while the client is still sending it', async () => {
    // The client sends one chunk, then waits until the origin has seen bytes before sending the
    // rest. A gateway that buffered the body would deadlock here and the request would time out.
    const bodySeen = eu.seen.length;
    const url = new URL(gw.url);
    const size = 32 * 1024 * 1024;
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/upload',
          agent: false,
          headers: { 'content-type': 'application/octet-stream' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(64 * 1024, 1));
      const waitForOrigin = () => {
        if (eu.seen.length > bodySeen) {
          const block = Buffer.alloc(1024 * 1024, 2);
          let sent = 64 * 1024;
          const pump = () => {
            while (sent < size) {
              const n = Math.min(block.length, size - sent);
              sent += n;
              if (!req.write(n === block.length ? block : block.subarray(0, n))) return void req.once('drain', pump);
            }
            req.end();
          };
          pump();
        } else setTimeout(waitForOrigin, 10);
      };
      waitForOrigin();
    });
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ path: '/upload', bodyBytes: size });
  });
});
