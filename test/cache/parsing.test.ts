/**
 * Field parsing the cache relies on (RFC 9110 §5.6.7 dates, RFC 9111 §5.1 Age, RFC 9213
 * CDN-Cache-Control as a Structured Field), and the behaviours that rest on it, through a
 * gateway in front of a real loopback origin.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ageSeconds, httpDate, parseCdnCacheControl } from '../../core/policies/cache/directives.ts';
import { type CacheGateway, type CountingOrigin, cachedRoute, startCacheGateway, startCountingOrigin } from './_harness.ts';

describe('field parsing', () => {
  it('reads the three HTTP-date forms and nothing looser', () => {
    const t = Date.UTC(2050, 7, 18, 2, 1, 18);
    expect(httpDate('Thu, 18 Aug 2050 02:01:18 GMT')).toBe(t);
    expect(httpDate('THU, 18 AUG 2050 02:01:18 gmt')).toBe(t);
    expect(httpDate('Thursday, 18-Aug-50 02:01:18 GMT', Date.UTC(2026, 0, 1))).toBe(t);
    expect(httpDate('Thu Aug 18 02:01:18 2050')).toBe(t);
    for (const bad of [
      'Thu, 18 Aug 2050 02:01:18 UTC',
      'Thu 18 Aug 2050 02:01:18 GMT',
      'Thu, 18  Aug  2050 02:01:18 GMT',
      'Thu, 18-Aug-2050 02:01:18 GMT',
      'Thu, 18 Aug 2050 2:01:18 GMT',
      'Thu, 31 Feb 2050 02:01:18 GMT',
      '0',
    ]) {
      expect(httpDate(bad), bad).toBeNaN();
    }
  });

  it('gives each date its own value when the last one parsed is remembered', () => {
    const a = 'Thu, 18 Aug 2050 02:01:18 GMT';
    const b = 'Thu, 18 Aug 2050 02:01:19 GMT';
    const seq = [a, a, b, b, a, 'Thu, 31 Feb 2050 02:01:18 GMT', a, ` ${b} `, b];
    expect(seq.map((v) => httpDate(v))).toEqual([
      Date.UTC(2050, 7, 18, 2, 1, 18),
      Date.UTC(2050, 7, 18, 2, 1, 18),
      Date.UTC(2050, 7, 18, 2, 1, 19),
      Date.UTC(2050, 7, 18, 2, 1, 19),
      Date.UTC(2050, 7, 18, 2, 1, 18),
      Number.NaN,
      Date.UTC(2050, 7, 18, 2, 1, 18),
      Date.UTC(2050, 7, 18, 2, 1, 19),
      Date.UTC(2050, 7, 18, 2, 1, 19),
    ]);
    // The RFC 850 form depends on the clock given, so it is never answered from memory.
    const rfc850 = 'Thursday, 18-Aug-50 02:01:18 GMT';
    expect(httpDate(rfc850, Date.UTC(2026, 0, 1))).toBe(Date.UTC(2050, 7, 18, 2, 1, 18));
    expect(httpDate(rfc850, Date.UTC(2101, 0, 1))).toBe(Date.UTC(2150, 7, 18, 2, 1, 18));
  });

  it('takes the first Age member when it is an integer and ignores any other Age', () => {
    expect(ageSeconds('7200, 0')).toBe(7200);
    expect(ageSeconds('0, 7200')).toBe(0);
    expect(ageSeconds('7200.0')).toBe(0);
    expect(ageSeconds('-5')).toBe(0);
    expect(ageSeconds(null)).toBe(0);
  });

  it('parses CDN-Cache-Control as a dictionary and rejects a field that is not one', () => {
    expect(parseCdnCacheControl('max-age=60, stale-if-error=30')).toEqual(
      new Map([
        ['max-age', '60'],
        ['stale-if-error', '30'],
      ]),
    );
    expect(parseCdnCacheControl('max-age=10000, &&&&&')).toBeNull();
    expect(parseCdnCacheControl('max-age="10000"')).toBeNull();
    expect(parseCdnCacheControl('max-age=1.5')).toBeNull();
    expect(parseCdnCacheControl('no-store;a=1')).toEqual(new Map([['no-store', true]]));
  });
});

describe('behaviours resting on the parsing', () => {
  let origin: CountingOrigin;
  let gw: CacheGateway;
  let n = 0;
  const fresh = () => `/c/p${++n}`;
  beforeAll(async () => {
    origin = await startCountingOrigin();
    gw = await startCacheGateway(cachedRoute(origin.url));
  });
  afterAll(async () => {
    await gw.close();
    await origin.close();
  });
  beforeEach(() => origin.replies.clear());

  it('treats an Expires with a UTC zone as already expired', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { expires: 'Thu, 18 Aug 2050 02:01:18 UTC' } });
    await gw.request(p);
    await gw.request(p);
    expect(origin.count(p)).toBe(2);
  });

  it('falls back to Cache-Control when CDN-Cache-Control is not a valid dictionary', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cdn-cache-control': 'max-age="10000"', 'cache-control': 'no-store' } });
    await gw.request(p);
    await gw.request(p);
    expect(origin.count(p)).toBe(2);
  });

  it('stores a status it does not know when the origin gives explicit freshness', async () => {
    const p = fresh();
    origin.replies.set(p, { status: 299, headers: { 'cache-control': 'max-age=100' } });
    await gw.request(p);
    const b = await gw.request(p);
    expect(b.status).toBe(299);
    expect(b.headers.get('cache-status')).toMatch(/^portico; hit/);
    expect(origin.count(p)).toBe(1);
  });

  it('with must-understand, stores a known status despite no-store and never an unknown one', async () => {
    const known = fresh();
    origin.replies.set(known, { headers: { 'cache-control': 'max-age=100, no-store, must-understand' } });
    await gw.request(known);
    await gw.request(known);
    expect(origin.count(known)).toBe(1);
    const unknown = fresh();
    origin.replies.set(unknown, { status: 599, headers: { 'cache-control': 'max-age=100, no-store, must-understand' } });
    await gw.request(unknown);
    await gw.request(unknown);
    expect(origin.count(unknown)).toBe(2);
  });

  it('serves a stale entry when the origin is unreachable, unless must-revalidate forbids it', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=2' }, body: 'kept' });
    await gw.request(p);
    gw.advance(5);
    origin.replies.set(p, { reset: true });
    const b = await gw.request(p);
    expect(b.status).toBe(200);
    expect(await b.text()).toBe('kept');
    expect(b.headers.get('cache-status')).toMatch(/detail=disconnected/);

    const strict = fresh();
    origin.replies.set(strict, { headers: { 'cache-control': 'max-age=2, must-revalidate' } });
    await gw.request(strict);
    gw.advance(5);
    origin.replies.set(strict, { reset: true });
    expect((await gw.request(strict)).status).toBe(502);
  });

  it("sends a HEAD miss's If-None-Match to the origin and relays its 304", async () => {
    const p = fresh();
    origin.replies.set(p, (req) =>
      req.headers['if-none-match'] === '"v1"' ? { status: 304, headers: { etag: '"v1"' } } : { headers: { etag: '"v1"' } },
    );
    const res = await gw.request(p, { 'if-none-match': '"v1"' }, { method: 'HEAD' });
    expect(res.status).toBe(304);
  });

  it('answers a byte range from a fresh stored 200 with a 206, and sends other ranges to the origin', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=100' }, body: '0123456789' });
    await gw.request(p);
    const part = await gw.request(p, { range: 'bytes=2-4' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(await part.text()).toBe('234');
    const suffix = await gw.request(p, { range: 'bytes=-3' });
    expect(await suffix.text()).toBe('789');
    expect((await gw.request(p, { range: 'bytes=20-' })).status).toBe(416);
    expect(origin.count(p)).toBe(1);
    // Not a fresh entry to answer from: the origin gets the Range.
    const other = fresh();
    origin.replies.set(other, { status: 206, headers: { 'content-range': 'bytes 0-1/10' }, body: '01' });
    const relayed = await gw.request(other, { range: 'bytes=0-1' });
    expect(relayed.status).toBe(206);
    expect(origin.seen.at(-1)?.headers['range']).toBe('bytes=0-1');
  });
});
