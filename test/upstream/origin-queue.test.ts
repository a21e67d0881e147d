/**
 * Origin-level shedding with a bounded queue (origins[].maxConcurrent + queue + queueTimeoutMs) on
 * the real Node server with real loopback echo origins (their `?delay=` holds a slot). Timing
 * bounds are generous: the machine is shared.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest } from '../e2e/_harness.ts';

let slow: EchoOrigin;
let other: EchoOrigin;
let gw: NodeServer;
const logs: Record<string, unknown>[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function requestLog(id: string): Record<string, unknown> | undefined {
  return logs.find((l) => l['msg'] === 'request' && l['requestId'] === id);
}

beforeAll(async () => {
  slow = await startEchoOrigin({ region: 'eu-west' });
  other = await startEchoOrigin({ region: 'us-east' });
  const compiled = await compileConfig({
    origins: {
      // One slot, two places in line for up to 3 s.
      queued: { url: slow.url, region: 'eu-west', timeoutMs: 5000, maxConcurrent: 1, queue: 2, queueTimeoutMs: 3000 },
      // One slot, one place in line for 400 ms.
      short: { url: slow.url, region: 'eu-west', timeoutMs: 5000, maxConcurrent: 1, queue: 1, queueTimeoutMs: 400 },
      // A long queue, cut by the route's deadline.
      long: { url: slow.url, region: 'eu-west', timeoutMs: 5000, maxConcurrent: 1, queue: 1, queueTimeoutMs: 10_000 },
      // One slot, one place in line for long enough to leave it.
      leave: { url: slow.url, region: 'eu-west', timeoutMs: 5000, maxConcurrent: 1, queue: 1, queueTimeoutMs: 5000 },
      other: { url: other.url, region: 'us-east', timeoutMs: 5000 },
    },
    routes: [
      { id: 'queued', match: { path: '/queued' }, upstream: 'queued' },
      { id: 'failover', match: { path: '/failover' }, upstream: ['short', 'other'] },
      { id: 'alone', match: { path: '/alone' }, upstream: 'short' },
      { id: 'deadline', match: { path: '/deadline' }, upstream: 'long', retry: { deadlineMs: 500 } },
      // The same origin without a deadline, to hold its slot.
      { id: 'hold-long', match: { path: '/hold-long' }, upstream: 'long' },
      { id: 'leave', match: { path: '/leave' }, upstream: 'leave' },
    ],
  });
  gw = await startNodeServer(compiled, { port: 0, hot: await loadNodeHot('wasm'), log: (r) => logs.push(r) });
});

afterAll(async () => {
  await gw?.drain();
  await Promise.all([slow?.close(), other?.close()]);
});

describe('an origin at its concurrency limit, with a queue', () => {
  it('holds requests over the limit in its queue and answers them all from that origin, one at a time', async () => {
    const started = Date.now();
    const results = await Promise.all(
      [1, 2, 3].map((i) => rawRequest(gw.url, '/queued?delay=300', { headers: { 'x-request-id': `q-${i}` } })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.map((r) => r.json().region)).toEqual(['eu-west', 'eu-west', 'eu-west']);
    // One slot: the three ran one after another.
    expect(Date.now() - started).toBeGreaterThanOrEqual(850);
    for (const i of [1, 2, 3]) expect(requestLog(`q-${i}`)?.['attempts']).toMatchObject([{ origin: 'queued', outcome: 'ok' }]);
  });

  it('fails over to the next origin once the queue wait runs out', async () => {
    const holding = rawRequest(gw.url, '/failover?delay=1500');
    await sleep(150);
    const started = Date.now();
    const res = await rawRequest(gw.url, '/failover', { headers: { 'x-request-id': 'q-timeout' } });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ region: 'us-east' });
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(1400);
    const attempts = requestLog('q-timeout')?.['attempts'] as { origin: string; outcome: string; ms: number }[];
    expect(attempts).toMatchObject([
      { origin: 'short', outcome: 'shed' },
      { origin: 'other', outcome: 'ok' },
    ]);
    expect(attempts[0]?.ms).toBeGreaterThanOrEqual(350);
    expect((await holding).status).toBe(200);
  });

  it('fails over at once when the queue is full', async () => {
    const holding = rawRequest(gw.url, '/failover?delay=1500');
    await sleep(150);
    // Takes the one place in line (and then fails over when its wait runs out).
    const waiting = rawRequest(gw.url, '/failover');
    await sleep(100);
    const started = Date.now();
    const res = await rawRequest(gw.url, '/failover', { headers: { 'x-request-id': 'q-full' } });
    expect(res.json()).toMatchObject({ region: 'us-east' });
    expect(Date.now() - started).toBeLessThan(300);
    expect(requestLog('q-full')?.['attempts']).toMatchObject([
      { origin: 'short', outcome: 'shed' },
      { origin: 'other', outcome: 'ok' },
    ]);
    expect((await waiting).json()).toMatchObject({ region: 'us-east' });
    expect((await holding).status).toBe(200);
  });

  it('answers 503 problem+json ERR_UPSTREAM_OVERLOADED with Retry-After when no origin frees a slot in time', async () => {
    const holding = rawRequest(gw.url, '/alone?delay=1500');
    await sleep(150);
    const started = Date.now();
    const res = await rawRequest(gw.url, '/alone', { headers: { 'x-request-id': 'q-shed' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({ code: 'ERR_UPSTREAM_OVERLOADED', status: 503 });
    expect(requestLog('q-shed')).toMatchObject({ shed: true, attempts: [{ origin: 'short', outcome: 'shed' }] });
    expect((await holding).status).toBe(200);
  });

  it("never waits past the route's deadline", async () => {
    const holding = rawRequest(gw.url, '/hold-long?delay=2500');
    await sleep(150);
    const started = Date.now();
    const res = await rawRequest(gw.url, '/deadline');
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ code: 'ERR_UPSTREAM_OVERLOADED' });
    // The deadline (500 ms from the start), not the queue's 10 s.
    expect(elapsed).toBeLessThan(2000);
    expect((await holding).status).toBe(200);
  });

  it('gives up the place in line of a client that goes away while waiting', async () => {
    const holding = rawRequest(gw.url, '/leave?delay=800');
    await sleep(150);
    // Queued, then gone: its place must be free again.
    const gone = httpRequest({ host: '127.0.0.1', port: new URL(gw.url).port, path: '/leave', agent: false });
    gone.on('error', () => {});
    gone.end();
    await sleep(150);
    gone.destroy();
    await sleep(150);
    // Queued in the freed place (not shed at once), and answered once the holder is done.
    const res = await rawRequest(gw.url, '/leave', { headers: { 'x-request-id': 'q-after-leave' } });
    expect(res.status).toBe(200);
    expect(requestLog('q-after-leave')?.['attempts']).toMatchObject([{ origin: 'leave', outcome: 'ok' }]);
    expect((await holding).status).toBe(200);
  });
});

describe('origin queue config', () => {
  it('refuses a queue on an origin without maxConcurrent, naming the path', async () => {
    const bad = compileConfig({
      origins: { a: { url: 'http://127.0.0.1:1', queue: 2 } },
      routes: [{ match: { path: '/' }, upstream: 'a' }],
    });
    await expect(bad).rejects.toBeInstanceOf(ConfigError);
    await expect(bad).rejects.toThrow('origins.a.queue: an origin queue needs maxConcurrent');
  });
});
