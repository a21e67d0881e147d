/**
 * The CacheStore contract suite against the Node stores: core's memory LRU and the Redis store
 * on a real redis-server; and the purge fan-out between two gateways (each with its own memory
 * cache and its own Redis connections, as two processes have) through Redis pub/sub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryCache } from '../../core/stores/index.ts';
import { createRedisCacheStore, type ClosableCacheStore, withRedisPurgeFanOut } from '../../targets/node/redis-cache.ts';
import { type RedisServer, startRedisServer } from '../stores/_redis.ts';
import { cachedRoute, startCacheGateway, startCountingOrigin } from './_harness.ts';
import { runCacheStoreCases } from './store-cases.ts';

describe('memory LRU', () => {
  let now = Date.now();
  runCacheStoreCases({
    make: () => createMemoryCache({ now: () => now }),
    advance: async (s) => {
      now += s * 1000;
    },
  });

  it('counts the bytes it holds through replacements, deletions and evictions by bytes', async () => {
    const parts = (size: number) => ({ status: 200, statusText: '', headers: [], body: new Uint8Array(size) });
    const store = createMemoryCache({ maxBytes: 3000 });
    store.putParts?.('a', parts(1000), { ttlSeconds: 60 });
    store.putParts?.('b', parts(1000), { ttlSeconds: 60 });
    expect(store.bytes?.()).toBe(2000);
    // A replacement counts the new body instead of the old one.
    store.putParts?.('a', parts(500), { ttlSeconds: 60 });
    expect(store.bytes?.()).toBe(1500);
    // Past the budget, the least recently used go first (b, then a) until it fits.
    store.putParts?.('c', parts(2800), { ttlSeconds: 60 });
    expect(store.bytes?.()).toBe(2800);
    expect(store.peek?.('a')).toBeNull();
    expect(store.peek?.('b')).toBeNull();
    // A ttl of 0 removes what was there.
    store.putParts?.('c', parts(10), { ttlSeconds: 0 });
    expect(store.bytes?.()).toBe(0);
    expect(await store.delete('c')).toBe(false);
  });
});

let redis: RedisServer;
const opened: ClosableCacheStore[] = [];
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  for (const s of opened) await s.close();
  await redis.stop();
});

describe('Redis store (real redis-server)', () => {
  runCacheStoreCases({
    make: async () => {
      const s = await createRedisCacheStore({ url: redis.url, keyPrefix: 'contract:' });
      opened.push(s);
      return s;
    },
    advance: (s) => new Promise((r) => setTimeout(r, s * 1000 + 100)),
  });

  it('serves one process the entry another stored', async () => {
    const origin = await startCountingOrigin();
    origin.replies.set('/c/shared', { headers: { 'cache-control': 'max-age=60' }, body: 'from one' });
    const a = await createRedisCacheStore({ url: redis.url, keyPrefix: 'two:' });
    const b = await createRedisCacheStore({ url: redis.url, keyPrefix: 'two:' });
    opened.push(a, b);
    const clock = { now: Date.now() };
    const one = await startCacheGateway(cachedRoute(origin.url), { cache: a, clock });
    const two = await startCacheGateway(cachedRoute(origin.url), { cache: b, clock });
    await one.request('/c/shared');
    const res = await two.request('/c/shared');
    expect(await res.text()).toBe('from one');
    expect(res.headers.get('cache-status')).toMatch(/^portico; hit/);
    expect(origin.count('/c/shared')).toBe(1);
    await one.close();
    await two.close();
    await origin.close();
  });
});

describe('purge fan-out through Redis pub/sub', () => {
  it('a purge on one gateway reaches the memory cache of another', async () => {
    const origin = await startCountingOrigin();
    origin.replies.set('/c/p', { headers: { 'cache-control': 'max-age=60', 'surrogate-key': 'news' } });
    const a = await withRedisPurgeFanOut(createMemoryCache(), { url: redis.url, keyPrefix: 'fan:' });
    const b = await withRedisPurgeFanOut(createMemoryCache(), { url: redis.url, keyPrefix: 'fan:' });
    opened.push(a, b);
    const config = cachedRoute(origin.url, true, { admin: { token: { env: 'ADMIN' } } });
    const secrets = { ADMIN: 'admin-secret' };
    const one = await startCacheGateway(config, { cache: a, secrets });
    const two = await startCacheGateway(config, { cache: b, secrets });
    await one.request('/c/p');
    await two.request('/c/p');
    expect((await two.request('/c/p')).headers.get('cache-status')).toMatch(/^portico; hit/);
    const res = await one.gateway.fetch(
      new Request('http://gw.test/_portico/purge', {
        method: 'POST',
        headers: { authorization: 'Bearer admin-secret' },
        body: JSON.stringify({ tags: ['news'] }),
      }),
      { waitUntil() {} },
    );
    expect((await res.json()).reach).toBe('fanout');
    const deadline = Date.now() + 5000;
    let status = '';
    while (Date.now() < deadline) {
      status = (await two.request('/c/p')).headers.get('cache-status') ?? '';
      if (!status.includes('hit')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toMatch(/^portico; fwd=uri-miss/);
    await one.close();
    await two.close();
    await origin.close();
  });
});
