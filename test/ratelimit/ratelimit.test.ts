/**
 * rateLimit end to end on Node: a real loopback echo origin, the gateway on real sockets with the
 * Wasm hot path, and a real redis-server for the shared modes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest, type RawResponse } from '../e2e/_harness.ts';
import { startRedisServer, type RedisServer } from '../stores/_redis.ts';

let origin: EchoOrigin;
let gw: NodeServer;
const logs: Record<string, unknown>[] = [];

const seenPaths = (prefix: string) => origin.seen.filter((s) => s.url.startsWith(prefix)).length;

async function hits(base: string, path: string, n: number, headers: Record<string, string> = {}): Promise<RawResponse[]> {
  const out: RawResponse[] = [];
  for (let i = 0; i < n; i++) out.push(await rawRequest(base, path, { headers }));
  return out;
}

beforeAll(async () => {
  origin = await startEchoOrigin({ region: 'eu-west' });
  const config: PorticoConfig = {
    trustedProxies: ['127.0.0.1'],
    origins: { eu: { url: origin.url, region: 'eu-west' } },
    routes: [
      { id: 'by-ip', match: { path: '/ip' }, upstream: 'eu', rateLimit: { limits: [{ requests: 3, per: '1m' }] } },
      {
        id: 'two-limits',
        match: { path: '/two' },
        upstream: 'eu',
        rateLimit: {
          limits: [
            { name: 'burst', requests: 2, per: '1s' },
            { name: 'minute', requests: 3, per: '1m' },
          ],
        },
      },
      {
        id: 'by-tenant',
        match: { path: '/tenant' },
        upstream: 'eu',
        rateLimit: { key: { header: 'x-tenant' }, limits: [{ requests: 2, per: '1m', algorithm: 'slidingWindow' }] },
      },
      {
        id: 'quiet',
        match: { path: '/quiet' },
        upstream: 'eu',
        rateLimit: { headers: 'refused', cost: 2, limits: [{ requests: 4, per: '1m' }] },
      },
    ],
  };
  gw = await startNodeServer(await compileConfig(config), { port: 0, hot: await loadNodeHot('wasm'), log: (r) => logs.push(r) });
});

afterAll(async () => {
  await gw?.drain();
  await origin?.close();
});

describe('rateLimit, local mode', () => {
  it('returns 429 problem+json with Retry-After once the bucket is empty, and the origin never sees the refused request', async () => {
    const before = seenPaths('/ip');
    const [a, b, c, refused] = await hits(gw.url, '/ip', 4, { 'x-forwarded-for': '203.0.113.1' });
    expect([a!.status, b!.status, c!.status]).toEqual([200, 200, 200]);
    expect(refused!.status).toBe(429);
    expect(refused!.headers['content-type']).toBe('application/problem+json');
    expect(refused!.json()).toMatchObject({ status: 429, title: 'Too Many Requests', limit: '3-per-1m' });
    // 3 per minute: one request's worth is back after 20 s.
    expect(refused!.headers['retry-after']).toBe('20');
    expect(seenPaths('/ip') - before).toBe(3);
  });

  it('sends RateLimit-Policy and RateLimit in the IETF draft syntax on allowed and refused responses', async () => {
    const [first, , , refused] = await hits(gw.url, '/ip', 4, { 'x-forwarded-for': '203.0.113.2' });
    expect(first!.headers['ratelimit-policy']).toBe('"3-per-1m";q=3;w=60');
    expect(first!.headers['ratelimit']).toBe('"3-per-1m";r=2;t=20');
    expect(refused!.headers['ratelimit-policy']).toBe('"3-per-1m";q=3;w=60');
    expect(refused!.headers['ratelimit']).toMatch(/^"3-per-1m";r=0;t=(59|60)$/);
  });

  it('keys by the client address from trusted proxies: another client has its own bucket', async () => {
    await hits(gw.url, '/ip', 4, { 'x-forwarded-for': '203.0.113.3' });
    const other = await rawRequest(gw.url, '/ip', { headers: { 'x-forwarded-for': '203.0.113.4' } });
    expect(other.status).toBe(200);
  });

  it('enforces every limit of a route, and names the one that refused', async () => {
    const h = { 'x-forwarded-for': '198.51.100.7' };
    const [a, b, c] = await hits(gw.url, '/two', 3, h);
    expect([a!.status, b!.status, c!.status]).toEqual([200, 200, 429]);
    expect(c!.json()).toMatchObject({ limit: 'burst' });
    expect(a!.headers['ratelimit-policy']).toBe('"burst";q=2;w=1, "minute";q=3;w=60');
    expect(a!.headers['ratelimit']).toMatch(/^"burst";r=1;t=1, "minute";r=2;t=20$/);
    await new Promise((r) => setTimeout(r, 1100));
    const [d, e] = await hits(gw.url, '/two', 2, h);
    expect(d!.status).toBe(200);
    expect(e!.status).toBe(429);
    expect(e!.json()).toMatchObject({ limit: 'minute' });
  });

  it('keys by a header value, with a sliding window', async () => {
    const a = await hits(gw.url, '/tenant', 3, { 'x-tenant': 'acme' });
    const b = await hits(gw.url, '/tenant', 1, { 'x-tenant': 'globex' });
    expect(a.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(b[0]!.status).toBe(200);
  });

  it('takes the configured cost per request and sends the headers only on refusals when told to', async () => {
    const [a, b, c] = await hits(gw.url, '/quiet', 3, { 'x-forwarded-for': '192.0.2.9' });
    expect([a!.status, b!.status, c!.status]).toEqual([200, 200, 429]);
    expect(a!.headers['ratelimit']).toBeUndefined();
    expect(c!.headers['ratelimit']).toMatch(/^"4-per-1m";r=0;t=\d+$/);
  });
});

describe('rateLimit config', () => {
  it('names the path of a bad limit, an unknown limits block and a mode that cannot use its algorithm', async () => {
    const bad = compileConfig({
      origins: { eu: { url: 'http://127.0.0.1:1', region: 'eu' } },
      routes: [
        { match: { path: '/a' }, upstream: 'eu', rateLimit: { limits: [{ requests: 0, per: '1s' }] } },
        { match: { path: '/b' }, upstream: 'eu', rateLimit: { limits: 'gold' } },
        {
          match: { path: '/c' },
          upstream: 'eu',
          rateLimit: { limits: [{ requests: 5, per: '1s', mode: 'approximate', algorithm: 'tokenBucket' }] },
        },
        { match: { path: '/d' }, upstream: 'eu', rateLimit: { cost: 9, limits: [{ requests: 5, per: '1fortnight' }] } },
      ],
    });
    await expect(bad).rejects.toThrow(/routes\[0\]\.rateLimit\.limits\[0\]\.requests: expected at least 1 request/);
    await expect(bad).rejects.toThrow(/routes\[1\]\.rateLimit\.limits: unknown limits block "gold" \(defined: none\)/);
    await expect(bad).rejects.toThrow(/routes\[2\]\.rateLimit\.limits\[0\]\.algorithm: approximate mode syncs window counts/);
    await expect(bad).rejects.toThrow(/routes\[3\]\.rateLimit\.limits\[0\]\.per: expected a window such as "1s"/);
  });
});

describe('rateLimit, shared modes on a real redis-server', () => {
  let redis: RedisServer;
  let a: NodeServer;
  let b: NodeServer;
  const sharedLogs: Record<string, unknown>[] = [];
  // Instance a's own lines: b syncs its approximate counts in the background too, so it may
  // or may not meet the dead store in this window (its line is its own, once).
  const aLogs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    const config = await compileConfig({
      trustedProxies: ['127.0.0.1'],
      origins: { eu: { url: origin.url, region: 'eu-west' } },
      stores: { redis: { url: { env: 'TEST_REDIS_URL' } }, counters: { timeoutMs: 100, failures: 2, cooldownMs: 300 } },
      routes: [
        {
          id: 'strict',
          match: { path: '/strict' },
          upstream: 'eu',
          rateLimit: { limits: [{ requests: 50, per: '1h', mode: 'strict' }] },
        },
        {
          id: 'approx',
          match: { path: '/approx' },
          upstream: 'eu',
          rateLimit: { limits: [{ requests: 40, per: '1h', mode: 'approximate', syncMs: 50 }] },
        },
        {
          id: 'open',
          match: { path: '/open' },
          upstream: 'eu',
          rateLimit: { limits: [{ requests: 10, per: '1h', mode: 'strict', onStoreError: 'open', localShare: 0.5 }] },
        },
        {
          id: 'closed',
          match: { path: '/closed' },
          upstream: 'eu',
          rateLimit: { limits: [{ requests: 10, per: '1h', mode: 'strict', onStoreError: 'closed' }] },
        },
      ],
    });
    const secrets = (name: string) => (name === 'TEST_REDIS_URL' ? redis.url : undefined);
    a = await startNodeServer(config, {
      port: 0,
      hot: await loadNodeHot('wasm'),
      secrets,
      log: (r) => {
        sharedLogs.push(r);
        aLogs.push(r);
      },
    });
    b = await startNodeServer(config, { port: 0, hot: await loadNodeHot('wasm'), secrets, log: (r) => sharedLogs.push(r) });
  });

  afterAll(async () => {
    await a?.drain();
    await b?.drain();
    await redis?.stop();
  });

  it('strict never admits more than the limit across two gateway instances under concurrency', async () => {
    const before = seenPaths('/strict');
    const all = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        rawRequest(i % 2 ? a.url : b.url, '/strict', { headers: { 'x-forwarded-for': '203.0.113.50' } }),
      ),
    );
    expect(all.filter((r) => r.status === 200).length).toBe(50);
    expect(all.filter((r) => r.status === 429).length).toBe(150);
    expect(seenPaths('/strict') - before).toBe(50);
  });

  it('approximate stays within its bound across two instances: L + min(R·(2T + 4d), (N−1)·L)', async () => {
    // 120 requests, one at a time, alternating between the instances: demand far above L = 40.
    let admitted = 0;
    const started = Date.now();
    for (let i = 0; i < 120; i++) {
      const r = await rawRequest(i % 2 ? a.url : b.url, '/approx', { headers: { 'x-forwarded-for': '203.0.113.60' } });
      if (r.status === 200) admitted++;
    }
    const rate = 120 / ((Date.now() - started) / 1000);
    // T = 50 ms; d (one Redis round trip) is taken as 50 ms, generously.
    const bound = 40 + Math.min(rate * (2 * 0.05 + 4 * 0.05), 40);
    expect(admitted).toBeGreaterThanOrEqual(40);
    expect(admitted).toBeLessThanOrEqual(Math.ceil(bound));
  });

  it('with Redis killed: open limits fall back to their local share, closed ones answer 503, no request waits past the store timeout; and both are back when Redis restarts', async () => {
    await redis.stop();
    const h = { 'x-forwarded-for': '203.0.113.70' };
    const times: number[] = [];
    const open: number[] = [];
    for (let i = 0; i < 8; i++) {
      const t = Date.now();
      open.push((await rawRequest(a.url, '/open', { headers: h })).status);
      times.push(Date.now() - t);
    }
    // localShare 0.5 of 10: 5 per instance while Redis is away.
    expect(open.filter((s) => s === 200).length).toBe(5);
    expect(open.slice(5)).toEqual([429, 429, 429]);
    const closed = await rawRequest(a.url, '/closed', { headers: h });
    expect(closed.status).toBe(503);
    expect(closed.json()).toMatchObject({ title: 'Service Unavailable' });
    // Timeout 100 ms: nothing is held much longer than that (the breaker then answers at once).
    expect(Math.max(...times)).toBeLessThan(400);
    // Once for the outage, not once per request.
    expect(aLogs.filter((r) => r['msg'] === 'counter store unreachable; limits use their onStoreError behaviour').length).toBe(1);

    await redis.start();
    const deadline = Date.now() + 8000;
    let back = 0;
    while (Date.now() < deadline) {
      back = (await rawRequest(a.url, '/closed', { headers: h })).status;
      if (back === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(back).toBe(200);
    expect(sharedLogs.some((r) => r['msg'] === 'counter store reachable again')).toBe(true);
  }, 20_000);
});
