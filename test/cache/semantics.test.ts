/**
 * RFC 9111 shared-cache behaviour of the cache policy against a real loopback origin that
 * counts its requests: freshness, storage directives, Age, Cache-Status, validation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CacheGateway, type CountingOrigin, cachedRoute, startCacheGateway, startCountingOrigin } from './_harness.ts';

let origin: CountingOrigin;
let gw: CacheGateway;
let n = 0;
/** A path of its own per test, so entries never meet. */
const fresh = () => `/c/t${++n}`;

beforeAll(async () => {
  origin = await startCountingOrigin();
  gw = await startCacheGateway(cachedRoute(origin.url));
});
afterAll(async () => {
  await gw.close();
  await origin.close();
});
beforeEach(() => {
  origin.replies.clear();
});

describe('freshness', () => {
  it('stores a max-age response and answers the next request from the store with Age and Cache-Status hit', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, body: 'one' });
    const a = await gw.request(p);
    expect(a.headers.get('cache-status')).toBe('portico; fwd=uri-miss; fwd-status=200; stored; ttl=60');
    expect(gw.lastLog()?.['cache']).toBe('miss');
    gw.advance(10);
    const b = await gw.request(p);
    expect(await b.text()).toBe('one');
    expect(b.headers.get('age')).toBe('10');
    expect(b.headers.get('cache-status')).toBe('portico; hit; ttl=50');
    expect(b.headers.get('cache-control')).toBe('max-age=60');
    expect(gw.lastLog()?.['cache']).toBe('hit');
    expect(origin.count(p)).toBe(1);
  });

  it('goes back to the origin once max-age has passed', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=5' } });
    await gw.request(p);
    gw.advance(6);
    const b = await gw.request(p);
    expect(b.headers.get('cache-status')).toMatch(/^portico; fwd=stale; fwd-status=200; stored/);
    expect(origin.count(p)).toBe(2);
  });

  it('prefers s-maxage over max-age', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=1, s-maxage=100' } });
    await gw.request(p);
    gw.advance(50);
    expect((await gw.request(p)).headers.get('cache-status')).toBe('portico; hit; ttl=50');
    expect(origin.count(p)).toBe(1);
  });

  it('uses Expires minus Date when there is no max-age', async () => {
    const p = fresh();
    const date = new Date(gw.clock.now);
    origin.replies.set(p, {
      headers: { date: date.toUTCString(), expires: new Date(gw.clock.now + 30_000).toUTCString() },
    });
    await gw.request(p);
    gw.advance(20);
    expect((await gw.request(p)).headers.get('cache-status')).toBe('portico; hit; ttl=10');
  });

  it('treats an invalid Expires as already expired', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { expires: '0' } });
    await gw.request(p);
    await gw.request(p);
    expect(origin.count(p)).toBe(2);
  });

  it('gives heuristic freshness of 10% of the Last-Modified age to a 200 without explicit freshness', async () => {
    const p = fresh();
    origin.replies.set(p, {
      headers: { date: new Date(gw.clock.now).toUTCString(), 'last-modified': new Date(gw.clock.now - 1000_000).toUTCString() },
    });
    const a = await gw.request(p);
    expect(a.headers.get('cache-status')).toContain('stored; ttl=100');
    gw.advance(90);
    expect((await gw.request(p)).headers.get('cache-status')).toBe('portico; hit; ttl=10');
    expect(origin.count(p)).toBe(1);
  });

  it('counts the Age the origin sent and the time since Date in the entry age', async () => {
    const p = fresh();
    origin.replies.set(p, {
      headers: { 'cache-control': 'max-age=100', age: '30', date: new Date(gw.clock.now - 40_000).toUTCString() },
    });
    await gw.request(p);
    gw.advance(5);
    const b = await gw.request(p);
    // apparent age 40 s beats the corrected Age value of 30 s; 5 s resident.
    expect(b.headers.get('age')).toBe('45');
    expect(b.headers.get('cache-status')).toBe('portico; hit; ttl=55');
  });

  it('does not store a 500 without explicit freshness, and relays it as it is', async () => {
    const p = fresh();
    origin.replies.set(p, { status: 500, body: 'boom' });
    const a = await gw.request(p);
    expect(a.status).toBe(500);
    expect(await a.text()).toBe('boom');
    expect(a.headers.get('cache-status')).toBe('portico; fwd=uri-miss; fwd-status=500; detail=uncacheable');
    await gw.request(p);
    expect(origin.count(p)).toBe(2);
  });

  it('stores a 404 (cacheable by default) with heuristic freshness from defaultTtl', async () => {
    const o = await startCountingOrigin();
    const g = await startCacheGateway(cachedRoute(o.url, { defaultTtl: 30 }));
    o.replies.set('/c/missing', { status: 404 });
    await g.request('/c/missing');
    const b = await g.request('/c/missing');
    expect(b.status).toBe(404);
    expect(b.headers.get('cache-status')).toBe('portico; hit; ttl=30');
    expect(o.count('/c/missing')).toBe(1);
    await g.close();
    await o.close();
  });

  it('replaces the origin freshness with a forced ttl', async () => {
    const o = await startCountingOrigin();
    const g = await startCacheGateway(cachedRoute(o.url, { ttl: 120 }));
    o.replies.set('/c/x', { headers: { 'cache-control': 'max-age=1' } });
    await g.request('/c/x');
    g.advance(100);
    expect((await g.request('/c/x')).headers.get('cache-status')).toBe('portico; hit; ttl=20');
    expect(o.count('/c/x')).toBe(1);
    await g.close();
    await o.close();
  });
});

describe('storage directives', () => {
  for (const cc of ['no-store', 'private', 'private="set-cookie"', 'max-age=60, private']) {
    it(`never stores a response with Cache-Control: ${cc}`, async () => {
      const p = fresh();
      origin.replies.set(p, { headers: { 'cache-control': cc } });
      const a = await gw.request(p);
      expect(a.headers.get('cache-status')).toMatch(/fwd=uri-miss; fwd-status=200; detail=(no-store|private)/);
      await gw.request(p);
      expect(origin.count(p)).toBe(2);
      expect(gw.lastLog()?.['cache']).toBe('uncacheable');
    });
  }

  it('stores a no-cache response but validates it on every use', async () => {
    const p = fresh();
    origin.replies.set(p, (req) =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { etag: '"v1"' } }
        : { headers: { 'cache-control': 'no-cache', etag: '"v1"' }, body: 'v1 body' },
    );
    await gw.request(p);
    const b = await gw.request(p);
    expect(await b.text()).toBe('v1 body');
    expect(b.status).toBe(200);
    expect(b.headers.get('cache-status')).toMatch(/^portico; fwd=stale; fwd-status=304; stored/);
    expect(gw.lastLog()?.['cache']).toBe('revalidated');
    expect(origin.seen.at(-1)?.headers['if-none-match']).toBe('"v1"');
  });

  it('serves a must-revalidate response stale never, even when the client allows max-stale', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=1, must-revalidate' } });
    await gw.request(p);
    gw.advance(5);
    await gw.request(p, { 'cache-control': 'max-stale=100' });
    expect(origin.count(p)).toBe(2);
  });

  it('serves a stale response to a client that sends max-stale when nothing forbids it', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=1' } });
    await gw.request(p);
    gw.advance(5);
    const b = await gw.request(p, { 'cache-control': 'max-stale=10' });
    expect(b.headers.get('cache-status')).toBe('portico; hit; ttl=-4');
    expect(origin.count(p)).toBe(1);
  });

  it('does not let max-stale reach past s-maxage (proxy-revalidate semantics)', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 's-maxage=1' } });
    await gw.request(p);
    gw.advance(5);
    await gw.request(p, { 'cache-control': 'max-stale' });
    expect(origin.count(p)).toBe(2);
  });

  it('does not store a response with Vary: *', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60', vary: '*' } });
    await gw.request(p);
    await gw.request(p);
    expect(origin.count(p)).toBe(2);
  });

  it('passes the origin headers through unchanged, Cache-Control and Surrogate-Key included', async () => {
    const p = fresh();
    const headers = {
      'cache-control': 'public, max-age=60, stale-while-revalidate=30',
      'surrogate-key': 'a b',
      'x-custom': 'yes',
    };
    origin.replies.set(p, { headers });
    for (const res of [await gw.request(p), await gw.request(p)]) {
      for (const [k, v] of Object.entries(headers)) expect(res.headers.get(k)).toBe(v);
      expect(res.headers.get('x-portico-cache-meta')).toBeNull();
    }
  });
});

describe('CDN-Cache-Control and Surrogate-Control', () => {
  it('obeys CDN-Cache-Control over Cache-Control (RFC 9213)', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' } });
    await gw.request(p);
    const b = await gw.request(p);
    expect(b.headers.get('cache-status')).toBe('portico; hit; ttl=60');
    expect(b.headers.get('cache-control')).toBe('no-store');
  });

  it('takes max-age from Surrogate-Control over Cache-Control', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=1', 'surrogate-control': 'max-age=300' } });
    await gw.request(p);
    gw.advance(100);
    expect((await gw.request(p)).headers.get('cache-status')).toBe('portico; hit; ttl=200');
  });

  it('does not store when Surrogate-Control says no-store', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60', 'surrogate-control': 'no-store' } });
    await gw.request(p);
    await gw.request(p);
    expect(origin.count(p)).toBe(2);
  });
});

describe('request directives', () => {
  it('forwards a request with no-cache and stores the new response', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(p);
    const b = await gw.request(p, { 'cache-control': 'no-cache' });
    expect(b.headers.get('cache-status')).toMatch(/^portico; fwd=request; fwd-status=200; stored/);
    expect(origin.count(p)).toBe(2);
  });

  it('treats Pragma: no-cache as no-cache when there is no Cache-Control', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(p);
    await gw.request(p, { pragma: 'no-cache' });
    expect(origin.count(p)).toBe(2);
  });

  it('forwards when the entry is older than the request max-age', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(p);
    gw.advance(20);
    expect((await gw.request(p, { 'cache-control': 'max-age=30' })).headers.get('cache-status')).toBe('portico; hit; ttl=40');
    const b = await gw.request(p, { 'cache-control': 'max-age=10' });
    expect(b.headers.get('cache-status')).toMatch(/^portico; fwd=request/);
  });

  it('forwards when min-fresh asks for more freshness than is left', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(p);
    gw.advance(50);
    await gw.request(p, { 'cache-control': 'min-fresh=20' });
    expect(origin.count(p)).toBe(2);
  });

  it('answers only-if-cached with 504 when nothing is stored, without reaching the origin', async () => {
    const p = fresh();
    const res = await gw.request(p, { 'cache-control': 'only-if-cached' });
    expect(res.status).toBe(504);
    expect((await res.json()).code).toBe('ERR_CACHE_ONLY_IF_CACHED');
    expect(res.headers.get('cache-status')).toBe('portico; fwd=uri-miss; detail=only-if-cached');
    expect(origin.count(p)).toBe(0);
  });

  it('answers only-if-cached from a fresh entry', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(p);
    expect((await gw.request(p, { 'cache-control': 'only-if-cached' })).status).toBe(200);
    expect(origin.count(p)).toBe(1);
  });

  it('does not store the response to a request with no-store', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(p, { 'cache-control': 'no-store' });
    await gw.request(p);
    expect(origin.count(p)).toBe(2);
  });
});

describe('validation', () => {
  it('revalidates a stale entry with If-None-Match and updates the stored headers from the 304', async () => {
    const p = fresh();
    origin.replies.set(p, (req) =>
      req.headers['if-none-match'] === '"e1"'
        ? { status: 304, headers: { etag: '"e1"', 'cache-control': 'max-age=100', 'x-version': 'two' } }
        : { headers: { etag: '"e1"', 'cache-control': 'max-age=10', 'x-version': 'one' }, body: 'payload' },
    );
    await gw.request(p);
    gw.advance(20);
    const b = await gw.request(p);
    expect(await b.text()).toBe('payload');
    expect(b.headers.get('x-version')).toBe('two');
    expect(b.headers.get('cache-status')).toBe('portico; fwd=stale; fwd-status=304; stored; ttl=100');
    gw.advance(50);
    const c = await gw.request(p);
    expect(c.headers.get('x-version')).toBe('two');
    expect(c.headers.get('cache-status')).toBe('portico; hit; ttl=50');
    expect(origin.count(p)).toBe(2);
  });

  it('revalidates with If-Modified-Since when the entry has only Last-Modified', async () => {
    const p = fresh();
    const lm = new Date(gw.clock.now - 3600_000).toUTCString();
    origin.replies.set(p, (req) =>
      req.headers['if-modified-since'] === lm
        ? { status: 304, headers: { 'cache-control': 'max-age=10' } }
        : { headers: { 'last-modified': lm, 'cache-control': 'max-age=10' } },
    );
    await gw.request(p);
    gw.advance(20);
    const b = await gw.request(p);
    expect(b.status).toBe(200);
    expect(b.headers.get('cache-status')).toMatch(/fwd-status=304/);
  });

  it("answers the client's own If-None-Match with 304 from the store", async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { etag: '"abc"', 'cache-control': 'max-age=60' } });
    await gw.request(p);
    const b = await gw.request(p, { 'if-none-match': 'W/"abc"' });
    expect(b.status).toBe(304);
    expect(b.headers.get('etag')).toBe('"abc"');
    expect(origin.count(p)).toBe(1);
  });

  it("compares the client's If-Modified-Since with the stored Date when there is no Last-Modified (RFC 9111 §4.3.2)", async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, body: 'dated' });
    const a = await gw.request(p);
    const date = a.headers.get('date');
    expect(date).not.toBeNull();
    expect(a.headers.get('last-modified')).toBeNull();
    const same = await gw.request(p, { 'if-modified-since': date as string });
    expect(same.status).toBe(304);
    expect(await same.text()).toBe('');
    const older = new Date(Date.parse(date as string) - 3600_000).toUTCString();
    const b = await gw.request(p, { 'if-modified-since': older });
    expect(b.status).toBe(200);
    expect(await b.text()).toBe('dated');
    expect(origin.count(p)).toBe(1);
  });

  it("does not send the client's conditional to the origin on a miss, so the full response is stored", async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { etag: '"z"', 'cache-control': 'max-age=60' } });
    const a = await gw.request(p, { 'if-none-match': '"z"' });
    expect(a.status).toBe(304);
    expect(origin.seen.at(-1)?.headers['if-none-match']).toBeUndefined();
    expect((await gw.request(p)).status).toBe(200);
    expect(origin.count(p)).toBe(1);
  });
});

describe('HEAD and unsafe methods', () => {
  it('answers a HEAD from a stored GET without a body', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, body: 'the body' });
    await gw.request(p);
    const h = await gw.request(p, {}, { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(h.headers.get('cache-status')).toBe('portico; hit; ttl=60');
    expect(await h.text()).toBe('');
    expect(origin.count(p)).toBe(1);
  });

  it('invalidates the URL, Location and Content-Location (same host only) after a successful POST', async () => {
    const [p, loc, cloc, other] = [fresh(), fresh(), fresh(), fresh()];
    for (const x of [p, loc, cloc, other]) origin.replies.set(x, { headers: { 'cache-control': 'max-age=60' } });
    for (const x of [p, loc, cloc, other]) await gw.request(x);
    origin.replies.set(p, (req) =>
      req.method === 'POST'
        ? { status: 201, headers: { location: loc, 'content-location': `http://gw.test${cloc}` } }
        : { headers: { 'cache-control': 'max-age=60' } },
    );
    const post = await gw.request(p, {}, { method: 'POST', body: 'x' });
    expect(post.headers.get('cache-status')).toBe('portico; fwd=bypass; fwd-status=201');
    for (const x of [p, loc, cloc]) {
      expect((await gw.request(x)).headers.get('cache-status')).toMatch(/^portico; fwd=uri-miss/);
    }
    expect((await gw.request(other)).headers.get('cache-status')).toMatch(/^portico; hit/);
  });

  it('does not invalidate after a failed POST', async () => {
    const p = fresh();
    origin.replies.set(p, (req) => (req.method === 'POST' ? { status: 500 } : { headers: { 'cache-control': 'max-age=60' } }));
    await gw.request(p);
    await gw.request(p, {}, { method: 'POST', body: 'x' });
    expect((await gw.request(p)).headers.get('cache-status')).toMatch(/^portico; hit/);
  });

  it('ignores a Location on another host', async () => {
    const [p, loc] = [fresh(), fresh()];
    origin.replies.set(loc, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(loc);
    origin.replies.set(p, { status: 200, headers: { location: `http://elsewhere.test${loc}` } });
    await gw.request(p, {}, { method: 'DELETE' });
    expect((await gw.request(loc)).headers.get('cache-status')).toMatch(/^portico; hit/);
  });
});
