/** `portico_cache_bytes` on /metrics follows the memory store's byte count as entries come and go. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheGateway, type CountingOrigin, cachedRoute, startCacheGateway, startCountingOrigin } from './_harness.ts';

const ADMIN = 'admin-token-for-the-cache-bytes-test';

describe('portico_cache_bytes', () => {
  let origin: CountingOrigin;
  let gw: CacheGateway;
  beforeAll(async () => {
    origin = await startCountingOrigin();
    gw = await startCacheGateway(
      cachedRoute(origin.url, true, { admin: { token: { env: 'ADMIN' } }, observability: { metrics: {} } }),
      { secrets: { ADMIN } },
    );
  });
  afterAll(async () => {
    await gw.close();
    await origin.close();
  });
  const gauge = async () => {
    const text = await (await gw.request('/metrics', { authorization: `Bearer ${ADMIN}` })).text();
    const m = /^portico_cache_bytes (\d+)$/m.exec(text);
    return m ? Number(m[1]) : null;
  };

  it('reports the bytes of stored bodies after stores and after an entry is dropped', async () => {
    origin.replies.set('/c/a', { headers: { 'cache-control': 'max-age=60' }, body: 'x'.repeat(1000) });
    origin.replies.set('/c/b', { headers: { 'cache-control': 'max-age=60' }, body: 'y'.repeat(500) });
    await gw.request('/c/a');
    expect(await gauge()).toBe(1000);
    await gw.request('/c/b');
    expect(await gauge()).toBe(1500);
    // The origin now forbids storing: the old entry is dropped on revalidation.
    gw.advance(61);
    origin.replies.set('/c/a', { headers: { 'cache-control': 'no-store' }, body: 'z' });
    await gw.request('/c/a');
    await new Promise((r) => setTimeout(r, 20));
    expect(await gauge()).toBe(500);
  });
});
