/**
 * The Node target's connection pool under abusive clients: slow uploads and clients that never
 * read hold origin connections only for a bounded time, and a request queued for a connection
 * gets its 504 at the route's timeout.
 */
import { type ClientRequest, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { relayMode } from './_relay-mode.ts';
import { rawRequest } from './_harness.ts';
import { openRaw, type RawExchange } from './_raw.ts';

let echo: EchoOrigin;
/** Sends 32 MiB as fast as the socket takes it: fills any client that does not read. */
let big: Server;
let bigOpen = 0;
const logs: Record<string, unknown>[] = [];

async function gateway(options: { requestBodyIdleTimeoutMs?: number; writeStallTimeoutMs?: number }): Promise<NodeServer> {
  const compiled = await compileConfig({
    origins: {
      echo: { url: echo.url, region: 'eu-west', timeoutMs: 1000 },
      big: { url: `http://127.0.0.1:${(big.address() as AddressInfo).port}`, region: 'eu-west', timeoutMs: 1000 },
    },
    routes: [
      { id: 'big', match: { path: '/big/*' }, upstream: 'big' },
      // Longer than the tests: only the client-side bounds can end these uploads.
      { id: 'upload', match: { path: '/up/*' }, upstream: 'echo', timeoutMs: 20_000 },
      { id: 'echo', match: { path: '/*' }, upstream: 'echo' },
    ],
  });
  return startNodeServer(compiled, {
    ...relayMode,
    port: 0,
    hot: await loadNodeHot('wasm'),
    log: (r) => logs.push(r),
    connectionsPerOrigin: 2,
    drainTimeoutMs: 500,
    ...options,
  });
}

/** Starts an upload of `total` bytes, sends 10 of them, and then nothing. */
async function stalledUpload(base: string, path = '/up/load'): Promise<RawExchange> {
  const ex = await openRaw(base);
  ex.send(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n0123456789`);
  return ex;
}

/** GETs /big/x from `n` clients that pause their response at once and never read it. */
async function nonReadingClients(base: string, n: number): Promise<ClientRequest[]> {
  const url = new URL(base);
  return Array.from({ length: n }, () => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: '/big/x', agent: false });
    req.on('response', (res) => res.pause());
    req.on('error', () => {});
    req.end();
    return req;
  });
}

async function waitUntil(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  echo = await startEchoOrigin({ region: 'eu-west' });
  const piece = Buffer.alloc(64 * 1024, 120);
  big = createServer((req, res) => {
    req.resume();
    bigOpen++;
    res.once('close', () => bigOpen--);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const pump = (): void => {
      while (sent < 512) {
        sent++;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => big.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  await echo?.close();
  big?.closeAllConnections();
  await new Promise<void>((r) => (big ? big.close(() => r()) : r()));
});

describe('the origin connection pool', () => {
  it("answers a request queued behind busy connections with 504 at the route's timeout", async () => {
    const gw = await gateway({ writeStallTimeoutMs: 60_000 });
    const stuck = await nonReadingClients(gw.url, 2);
    await waitUntil(() => bigOpen === 2);
    const started = Date.now();
    const res = await Promise.race([
      rawRequest(gw.url, '/big/queued'),
      new Promise<{ status: number; body: string }>((r) => setTimeout(() => r({ status: 0, body: 'no answer in 5 s' }), 5000)),
    ]);
    expect(res.status, res.body.slice(0, 200)).toBe(504);
    // At the timeout (1 s), not at the 5 s fallback above; the margin is for a loaded machine.
    expect(Date.now() - started).toBeLessThan(4000);
    expect(JSON.parse(res.body)['code']).toBe('ERR_UPSTREAM_TIMEOUT');
    for (const r of stuck) r.destroy();
    await gw.drain();
  });

  it('cuts an upload that sends nothing for requestBodyIdleTimeoutMs with 408, freeing its origin connection', async () => {
    const gw = await gateway({ requestBodyIdleTimeoutMs: 400 });
    const uploads = [await stalledUpload(gw.url), await stalledUpload(gw.url)];
    for (const u of uploads) await u.waitFor(/^HTTP\/1\.1 408 /, 3000);
    expect(uploads[0]?.received()).toContain('application/problem+json');
    expect(uploads[0]?.received()).toContain('ERR_REQUEST_TIMEOUT');
    const res = await rawRequest(gw.url, '/after');
    expect(res.status).toBe(200);
    await waitUntil(() => logs.filter((l) => l['route'] === 'upload' && l['status'] === 408).length === 2);
    expect(logs.find((l) => l['route'] === 'upload' && l['status'] === 408)).toMatchObject({
      level: 'info',
      msg: 'request',
      code: 'ERR_REQUEST_TIMEOUT',
    });
    for (const u of uploads) u.close();
    await gw.drain();
  });

  it('keeps a slow upload that keeps sending, however long it takes in all', async () => {
    // 12 gaps of 150 ms: 1.8 s in all, past the idle timeout, and each gap far under it (a loaded
    // machine's late timers must not make a gap look idle).
    const gw = await gateway({ requestBodyIdleTimeoutMs: 1000 });
    const ex = await openRaw(gw.url);
    ex.send('POST /up/slow-but-steady HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 12\r\nConnection: close\r\n\r\n');
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 150));
      ex.send('x');
    }
    await ex.waitFor('"bodyBytes":12', 3000);
    expect(ex.received()).toMatch(/^HTTP\/1\.1 200 /);
    ex.close();
    await gw.drain();
  });

  it('breaks a client that stops reading for writeStallTimeoutMs and frees its origin connection', async () => {
    const gw = await gateway({ writeStallTimeoutMs: 400 });
    const stuck = await nonReadingClients(gw.url, 2);
    await waitUntil(() => bigOpen === 2);
    const started = Date.now();
    while (bigOpen > 0 && Date.now() - started < 4000) await new Promise((r) => setTimeout(r, 50));
    expect(bigOpen).toBe(0);
    expect(logs.find((l) => l['msg'] === 'client took no response data; connection broken')).toMatchObject({
      level: 'info',
      method: 'GET',
      path: '/big/x',
      code: 'ERR_CLIENT_CLOSED',
    });
    expect((await rawRequest(gw.url, '/after')).status).toBe(200);
    for (const r of stuck) r.destroy();
    await gw.drain();
  });
});
