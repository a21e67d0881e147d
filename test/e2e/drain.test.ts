/**
 * Draining the Node target: load balancers that probe /ready over a kept-alive connection see
 * its 503, every answer during the drain closes its connection, and a request cut by the drain
 * timeout is logged as the client's loss (499), not as an internal error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest } from './_harness.ts';
import { openRaw, parseRaw } from './_raw.ts';

let echo: EchoOrigin;

beforeAll(async () => {
  echo = await startEchoOrigin({ region: 'eu-west' });
});

afterAll(async () => {
  await echo?.close();
});

async function gateway(logs: Record<string, unknown>[], drainTimeoutMs: number): Promise<NodeServer> {
  const compiled = await compileConfig({
    origins: { echo: { url: echo.url, region: 'eu-west', timeoutMs: 10_000 } },
    routes: [{ id: 'echo', match: { path: '/*' }, upstream: 'echo' }],
  });
  return startNodeServer(compiled, { port: 0, hot: await loadNodeHot('wasm'), log: (r) => logs.push(r), drainTimeoutMs });
}

const READY = 'GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

describe('drain', () => {
  it('answers /ready 503 on a kept-alive connection while draining, then closes that connection', async () => {
    const gw = await gateway([], 1500);
    const lb = await openRaw(gw.url);
    lb.send(READY);
    await lb.waitFor('"status":"ready"');
    expect(parseRaw(lb.received()).status).toBe(200);
    const draining = gw.drain();
    await new Promise((r) => setTimeout(r, 100));
    const before = lb.received().length;
    lb.send(READY);
    await lb.waitFor('"status":"draining"');
    const second = parseRaw(lb.received().slice(before));
    expect(second.status).toBe(503);
    expect(second.headers['connection']).toEqual(['close']);
    await lb.closed;
    const result = await draining;
    expect(result).toEqual({ drained: true, abandoned: 0 });
  });

  it('refuses new connections once draining has begun', async () => {
    const gw = await gateway([], 1000);
    const draining = gw.drain();
    await new Promise((r) => setTimeout(r, 50));
    await expect(rawRequest(gw.url, '/ready')).rejects.toThrow(/ECONNREFUSED/);
    await draining;
  });

  it('logs a request cut by the drain timeout as ERR_CLIENT_CLOSED, status 499, at info', async () => {
    const logs: Record<string, unknown>[] = [];
    const gw = await gateway(logs, 300);
    const cut = rawRequest(gw.url, '/slow?delay=3000', { headers: { 'x-request-id': 'cut-by-drain' } }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 200));
    expect(await gw.drain()).toEqual({ drained: false, abandoned: 1 });
    expect(await cut).toBeInstanceOf(Error);
    const records = logs.filter((l) => l['requestId'] === 'cut-by-drain');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 'info', msg: 'request', status: 499, code: 'ERR_CLIENT_CLOSED' });
  });
});
