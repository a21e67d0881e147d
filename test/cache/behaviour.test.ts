/**
 * The cache policy's own behaviours beyond RFC 9111's basics, against a real loopback origin:
 * stale-while-revalidate and stale-if-error, Vary, coalescing, keys, identities (no response
 * crosses identities), bounds, tags and the purge API, and config errors with their paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { generateApiKey, hashApiKey } from '../../core/policies/api-key/index.ts';
import { createMemoryCache } from '../../core/stores/index.ts';
import { closedPort } from '../e2e/_harness.ts';
import { type CountingOrigin, cachedRoute, startCacheGateway, startCountingOrigin } from './_harness.ts';

let origin: CountingOrigin;
let n = 0;
const fresh = () => `/c/b${++n}`;

beforeAll(async () => {
  origin = await startCountingOrigin();
});
afterAll(async () => {
  await origin.close();
});

describe('stale-while-revalidate and stale-if-error', () => {
  it('serves a stale entry at once and refreshes it with one background request', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url));
    const p = fresh();
    let version = 0;
    origin.replies.set(p, () => ({
      headers: { 'cache-control': 's-maxage=10, stale-while-revalidate=60' },
      body: `v${++version}`,
    }));
    await gw.request(p);
    gw.advance(15);
    const stale = await gw.request(p);
    expect(await stale.text()).toBe('v1');
    expect(stale.headers.get('cache-status')).toBe('portico; hit; ttl=-5; detail=stale-while-revalidate');
    expect(gw.lastLog()?.['cache']).toBe('stale');
    // The refresh ran in waitUntil (the harness awaits it): the next answer is the new one, fresh.
    const next = await gw.request(p);
    expect(await next.text()).toBe('v2');
    expect(next.headers.get('cache-status')).toMatch(/^portico; hit; ttl=10/);
    expect(origin.count(p)).toBe(2);
    await gw.close();
  });

  it('starts one refresh per key however many requests see it stale at once', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, { staleWhileRevalidate: 60 }));
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=1' }, delayMs: 100 });
    await gw.request(p);
    gw.advance(5);
    const all = await Promise.all(Array.from({ length: 20 }, () => gw.request(p)));
    expect(all.every((r) => r.headers.get('cache-status')?.includes('stale-while-revalidate'))).toBe(true);
    expect(origin.count(p)).toBe(2);
    await gw.close();
  });

  it('serves stale within stale-if-error when the origin answers 503', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, { staleIfError: 300 }));
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=10' }, body: 'good' });
    await gw.request(p);
    origin.replies.set(p, { status: 503, body: 'down' });
    gw.advance(60);
    const res = await gw.request(p);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('good');
    expect(res.headers.get('cache-status')).toBe('portico; fwd=stale; fwd-status=503; ttl=-50; detail=stale-if-error');
    gw.advance(400);
    expect((await gw.request(p)).status).toBe(503);
    await gw.close();
  });

  it('serves stale within stale-if-error when the origin is unreachable', async () => {
    const flaky = await startCountingOrigin();
    const gw = await startCacheGateway(cachedRoute(flaky.url));
    flaky.replies.set('/c/x', { headers: { 'cache-control': 'max-age=10, stale-if-error=300' }, body: 'kept' });
    await gw.request('/c/x');
    flaky.replies.set('/c/x', { reset: true });
    gw.advance(30);
    const res = await gw.request('/c/x');
    expect(await res.text()).toBe('kept');
    expect(res.headers.get('cache-status')).toMatch(/fwd-status=502; ttl=-20; detail=stale-if-error/);
    await gw.close();
    await flaky.close();
  });

  it('never serves stale on error when the origin said must-revalidate', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, { staleIfError: 300 }));
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=10, must-revalidate' } });
    await gw.request(p);
    origin.replies.set(p, { status: 500 });
    gw.advance(20);
    expect((await gw.request(p)).status).toBe(500);
    await gw.close();
  });
});

describe('Vary', () => {
  it('keeps one variant per value of the Vary headers', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url));
    const p = fresh();
    origin.replies.set(p, (req) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      body: `lang ${req.headers['accept-language']}`,
    }));
    expect(await (await gw.request(p, { 'accept-language': 'fr' })).text()).toBe('lang fr');
    const en = await gw.request(p, { 'accept-language': 'en' });
    expect(en.headers.get('cache-status')).toMatch(/^portico; fwd=vary-miss/);
    expect(await en.text()).toBe('lang en');
    const fr = await gw.request(p, { 'accept-language': 'fr' });
    expect(await fr.text()).toBe('lang fr');
    expect(fr.headers.get('cache-status')).toBe('portico; hit; ttl=60');
    expect(origin.count(p)).toBe(2);
    await gw.close();
  });
});

describe('coalescing', () => {
  it('sends one origin request for 200 concurrent misses on one key, and all get the body', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url));
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, body: 'x'.repeat(10_000), delayMs: 200 });
    const all = await Promise.all(Array.from({ length: 200 }, () => gw.request(p)));
    expect(origin.count(p)).toBe(1);
    for (const r of all) expect((await r.text()).length).toBe(10_000);
    expect(all.filter((r) => r.headers.get('cache-status')?.includes('detail=coalesced')).length).toBe(199);
    await gw.close();
  });

  it('sends followers to the origin themselves when the response is private', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url));
    const p = fresh();
    let i = 0;
    origin.replies.set(p, () => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `mine ${++i}`, delayMs: 100 }));
    const all = await Promise.all(Array.from({ length: 5 }, () => gw.request(p)));
    const bodies = new Set(await Promise.all(all.map((r) => r.text())));
    expect(bodies.size).toBe(5);
    expect(origin.count(p)).toBe(5);
    await gw.close();
  });
});

describe('keys', () => {
  it('sorts the query and leaves ignored parameters (globs) out of the key', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, { key: { ignoreQuery: ['utm_*', 'fbclid'] } }));
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(`${p}?b=2&a=1&utm_source=x`);
    const b = await gw.request(`${p}?a=1&fbclid=zz&b=2&utm_medium=y`);
    expect(b.headers.get('cache-status')).toMatch(/^portico; hit/);
    const c = await gw.request(`${p}?a=1&b=3`);
    expect(c.headers.get('cache-status')).toMatch(/^portico; fwd=uri-miss/);
    // The origin still gets the parameters the key ignores.
    expect(origin.seen.find((s) => s.url.startsWith(p))?.url).toContain('utm_source=x');
    await gw.close();
  });

  it('puts the chosen headers and cookies in the key', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, { key: { headers: ['x-tenant'], cookies: ['ab'] } }));
    const p = fresh();
    origin.replies.set(p, (req) => ({
      headers: { 'cache-control': 'max-age=60' },
      body: `${req.headers['x-tenant']} ${req.headers.cookie}`,
    }));
    await gw.request(p, { 'x-tenant': 't1', cookie: 'ab=1; other=9' });
    expect(await (await gw.request(p, { 'x-tenant': 't1', cookie: 'other=5; ab=1' })).text()).toBe('t1 ab=1; other=9');
    expect(await (await gw.request(p, { 'x-tenant': 't2', cookie: 'ab=1' })).text()).toBe('t2 ab=1');
    expect(await (await gw.request(p, { 'x-tenant': 't1', cookie: 'ab=2' })).text()).toBe('t1 ab=2');
    expect(origin.count(p)).toBe(3);
    await gw.close();
  });

  it('treats a hash collision as a miss: the full key is compared', async () => {
    // A store whose every key is the same slot: only the full key tells entries apart.
    const real = createMemoryCache();
    const oneSlot = {
      get: () => real.get('slot'),
      put: (_k: string, r: Response, o: { ttlSeconds: number }) => real.put('slot', r, o),
      delete: () => real.delete('slot'),
    };
    const gw = await startCacheGateway(cachedRoute(origin.url), { cache: oneSlot });
    const [p, q] = [fresh(), fresh()];
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, body: 'P' });
    origin.replies.set(q, { headers: { 'cache-control': 'max-age=60' }, body: 'Q' });
    await gw.request(p);
    const res = await gw.request(q);
    expect(await res.text()).toBe('Q');
    expect(res.headers.get('cache-status')).toMatch(/^portico; fwd=miss/);
    await gw.close();
  });
});

describe('identities: nothing crosses them', () => {
  const ALICE = generateApiKey();
  const BOB = generateApiKey();
  const keyed = async (cache: unknown) => ({
    origins: { o: { url: origin.url, region: 'local' } },
    apiKeys: { alice: { hash: await hashApiKey(ALICE) }, bob: { hash: await hashApiKey(BOB) } },
    routes: [{ match: { path: '/c/*' }, upstream: 'o', apiKey: {}, cache }],
  });

  it('keys by the API-key identity: one consumer never gets the response stored for another', async () => {
    const gw = await startCacheGateway(await keyed(true));
    const p = fresh();
    let i = 0;
    origin.replies.set(p, () => ({ headers: { 'cache-control': 'max-age=60' }, body: `answer ${++i}` }));
    const a1 = await gw.request(p, { 'x-api-key': ALICE });
    const b1 = await gw.request(p, { 'x-api-key': BOB });
    expect(await b1.text()).not.toBe(await a1.text());
    expect(b1.headers.get('cache-status')).toMatch(/^portico; fwd=uri-miss/);
    expect(await (await gw.request(p, { 'x-api-key': ALICE })).text()).toBe('answer 1');
    expect(await (await gw.request(p, { 'x-api-key': BOB })).text()).toBe('answer 2');
    expect(origin.count(p)).toBe(2);
    await gw.close();
  });

  it('shares one entry across identities when the route says key.shared', async () => {
    const gw = await startCacheGateway(await keyed({ key: { shared: true } }));
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(p, { 'x-api-key': ALICE });
    expect((await gw.request(p, { 'x-api-key': BOB })).headers.get('cache-status')).toMatch(/^portico; hit/);
    await gw.close();
  });

  it('never stores a private response, even on a shared route', async () => {
    const gw = await startCacheGateway(await keyed({ key: { shared: true } }));
    const p = fresh();
    origin.replies.set(p, (req) => ({
      headers: { 'cache-control': 'private, max-age=60' },
      body: `secret of ${req.headers['x-portico-consumer'] ?? req.headers['x-forwarded-for']}`,
    }));
    await gw.request(p, { 'x-api-key': ALICE });
    const b = await gw.request(p, { 'x-api-key': BOB });
    expect(b.headers.get('cache-status')).toMatch(/detail=private/);
    expect(origin.count(p)).toBe(2);
    await gw.close();
  });

  it('does not store the response to a request with Authorization unless it says public (RFC 9111 §3.5)', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url));
    const p = fresh();
    origin.replies.set(p, (req) => ({ headers: { 'cache-control': 'max-age=60' }, body: `for ${req.headers.authorization}` }));
    await gw.request(p, { authorization: 'Bearer alice' });
    const bob = await gw.request(p, { authorization: 'Bearer bob' });
    expect(await bob.text()).toBe('for Bearer bob');
    expect(bob.headers.get('cache-status')).toMatch(/detail=authorization/);
    const q = fresh();
    origin.replies.set(q, { headers: { 'cache-control': 'public, max-age=60' } });
    await gw.request(q, { authorization: 'Bearer alice' });
    expect((await gw.request(q, { authorization: 'Bearer bob' })).headers.get('cache-status')).toMatch(/^portico; hit/);
    await gw.close();
  });

  it('does not store a response with Set-Cookie unless it says public', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url));
    const p = fresh();
    origin.replies.set(p, (req) => ({
      headers: { 'cache-control': 'max-age=60', 'set-cookie': `sid=${req.headers['x-user']}` },
      body: `user ${req.headers['x-user']}`,
    }));
    await gw.request(p, { 'x-user': 'a' });
    const b = await gw.request(p, { 'x-user': 'b' });
    expect(await b.text()).toBe('user b');
    expect(b.headers.get('set-cookie')).toBe('sid=b');
    await gw.close();
  });
});

describe('bounds', () => {
  it('streams a body larger than maxObjectBytes through without storing it', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, { maxObjectBytes: 1000 }));
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60', 'content-length': '5000' }, body: 'y'.repeat(5000) });
    const a = await gw.request(p);
    expect((await a.text()).length).toBe(5000);
    expect(a.headers.get('cache-status')).toMatch(/detail=too-large/);
    await gw.request(p);
    expect(origin.count(p)).toBe(2);
    // Without Content-Length the body is read up to the bound, and then not stored either.
    const q = fresh();
    origin.replies.set(q, { headers: { 'cache-control': 'max-age=60' }, body: 'y'.repeat(5000) });
    expect((await (await gw.request(q)).text()).length).toBe(5000);
    expect((await gw.request(q)).headers.get('cache-status')).toMatch(/^portico; fwd=uri-miss/);
    await gw.close();
  });

  it('evicts the least recently used entry past the byte budget', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, true, { cacheStore: { maxBytes: 2500 } }));
    const [a, b, c] = [fresh(), fresh(), fresh()];
    for (const x of [a, b, c]) origin.replies.set(x, { headers: { 'cache-control': 'max-age=60' }, body: 'z'.repeat(1000) });
    await gw.request(a);
    await gw.request(b);
    await gw.request(a); // a is now the most recently used
    await gw.request(c); // 3000 bytes > 2500: b goes
    expect((await gw.request(a)).headers.get('cache-status')).toMatch(/^portico; hit/);
    expect((await gw.request(b)).headers.get('cache-status')).toMatch(/^portico; fwd=uri-miss/);
    await gw.close();
  });

  it('leaves no entry behind when the origin body breaks mid-way', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '1000' });
      res.write('a'.repeat(100));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const gw = await startCacheGateway(cachedRoute(`http://127.0.0.1:${port}`));
    await gw.request('/c/cut').catch(() => undefined);
    const again = await gw.request('/c/cut').catch(() => null);
    expect(again?.headers.get('cache-status') ?? 'broken').not.toMatch(/^portico; hit/);
    await gw.close();
    server.closeAllConnections();
    server.close();
  });
});

describe('tags and purge', () => {
  const admin = { admin: { token: { env: 'ADMIN' } } };
  const purge = (gw: Awaited<ReturnType<typeof startCacheGateway>>, body: unknown, token = 'secret-admin') =>
    gw.gateway.fetch(
      new Request('http://gw.test/_portico/purge', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
      { waitUntil() {} },
    );

  it('purges by tag from Surrogate-Key and Cache-Tag, and leaves other entries', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, true, admin), { secrets: { ADMIN: 'secret-admin' } });
    const [a, b, c] = [fresh(), fresh(), fresh()];
    origin.replies.set(a, { headers: { 'cache-control': 'max-age=60', 'surrogate-key': 'products p1' } });
    origin.replies.set(b, { headers: { 'cache-control': 'max-age=60', 'cache-tag': 'p2,products' } });
    origin.replies.set(c, { headers: { 'cache-control': 'max-age=60', 'surrogate-key': 'other' } });
    for (const x of [a, b, c]) await gw.request(x);
    const res = await purge(gw, { tags: ['products'] });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ purged: true, tags: 1, reach: 'instance' });
    expect((await gw.request(a)).headers.get('cache-status')).toMatch(/^portico; fwd=uri-miss/);
    expect((await gw.request(b)).headers.get('cache-status')).toMatch(/^portico; fwd=uri-miss/);
    expect((await gw.request(c)).headers.get('cache-status')).toMatch(/^portico; hit/);
    await gw.close();
  });

  it('soft-purges by URL: the entry is stale, served within its window while it refreshes', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, true, admin), { secrets: { ADMIN: 'secret-admin' } });
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60, stale-while-revalidate=30' } });
    await gw.request(`${p}?b=1&a=2`);
    expect((await purge(gw, { urls: [`http://gw.test${p}?a=2&b=1`], soft: true })).status).toBe(202);
    const res = await gw.request(`${p}?b=1&a=2`);
    expect(res.headers.get('cache-status')).toMatch(/detail=stale-while-revalidate/);
    expect(origin.count(p)).toBe(2);
    await gw.close();
  });

  it('purges everything', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, true, admin), { secrets: { ADMIN: 'secret-admin' } });
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' } });
    await gw.request(p);
    await purge(gw, { all: true });
    expect((await gw.request(p)).headers.get('cache-status')).toMatch(/^portico; fwd=uri-miss/);
    await gw.close();
  });

  it('refuses a purge without the admin token (401) and a bad body (400)', async () => {
    const gw = await startCacheGateway(cachedRoute(origin.url, true, admin), { secrets: { ADMIN: 'secret-admin' } });
    const denied = await purge(gw, { all: true }, 'wrong');
    expect(denied.status).toBe(401);
    expect(await denied.text()).not.toContain('secret-admin');
    const bad = await purge(gw, { tags: 'x' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).detail).toBe('expected tags as an array of at most 1000 strings');
    expect((await purge(gw, {})).status).toBe(400);
    await gw.close();
  });
});

describe('config', () => {
  it('names the path of a bad cache block', async () => {
    await expect(
      compileConfig(cachedRoute('http://127.0.0.1:1', { staleIfError: -1, key: { headers: ['Authorization'] } })),
    ).rejects.toThrow(/routes\[0\]\.cache\.staleIfError: expected staleIfError of 0 seconds or more/);
    await expect(compileConfig(cachedRoute('http://127.0.0.1:1', { key: { headers: ['Authorization'] } }))).rejects.toThrow(
      /routes\[0\]\.cache\.key\.headers\[0\]: "authorization" cannot join the key/,
    );
    await expect(compileConfig(cachedRoute('http://127.0.0.1:1', true, { cacheStore: { kind: 'redis' } }))).rejects.toThrow(
      /cacheStore\.kind: kind "redis" needs stores\.redis/,
    );
  });

  it('puts Cache-Status on a bypassed POST of a cached route', async () => {
    const port = await closedPort();
    void port;
    const gw = await startCacheGateway(cachedRoute(origin.url));
    const res = await gw.request(fresh(), {}, { method: 'POST', body: 'x' });
    expect(res.headers.get('cache-status')).toBe('portico; fwd=bypass; fwd-status=200');
    expect(gw.lastLog()?.['cache']).toBe('bypass');
    await gw.close();
  });
});
