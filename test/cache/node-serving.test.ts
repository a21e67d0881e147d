/**
 * The cache through the real Node server (startNodeServer), where hits are written from the
 * stored bytes without a WHATWG Response (targets/node/stored.ts) and misses relay the origin's
 * body natively while it is collected for the store: what a client on the wire sees, status,
 * headers and bytes, and what the origin received.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { generateApiKey, hashApiKey } from '../../core/policies/api-key/index.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { type NodeServer, startNodeServer } from '../../targets/node/server.ts';
import { type CountingOrigin, startCountingOrigin } from './_harness.ts';

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

let origin: CountingOrigin;
let gw: NodeServer;
const ALICE = generateApiKey();
const BOB = generateApiKey();
let n = 0;
const fresh = (prefix = '/c/') => `${prefix}p${++n}-${Math.random().toString(36).slice(2)}`;

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(`${gw.url}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

/** The request again until it is a hit (the store write follows the body), at most 50 times. */
async function hit(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  let got = await get(path, headers, method);
  for (let i = 0; i < 50 && !String(got.headers['cache-status']).startsWith('portico; hit'); i++) {
    await new Promise((r) => setTimeout(r, 10));
    got = await get(path, headers, method);
  }
  return got;
}

beforeAll(async () => {
  origin = await startCountingOrigin();
  const config = {
    origins: { o: { url: origin.url, region: 'local' } },
    apiKeys: { alice: { hash: await hashApiKey(ALICE) }, bob: { hash: await hashApiKey(BOB) } },
    routes: [
      { match: { path: '/c/*' }, upstream: 'o', cache: { maxObjectBytes: 4000 } },
      { match: { path: '/k/*' }, upstream: 'o', apiKey: {}, cache: true },
      { match: { path: '/s/*' }, upstream: 'o', cache: true },
    ],
  };
  gw = await startNodeServer(await compileConfig(config), { port: 0, hot: await loadNodeHot('wasm'), log: () => {} });
});

afterAll(async () => {
  await gw?.drain();
  await origin?.close();
});

describe('cache hits on the Node server', () => {
  it('answers a hit with the stored bytes, their length, Age and Cache-Status hit, without the origin', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60', etag: '"v1"', 'x-origin': 'yes' }, body: 'stored body' });
    const first = await get(p);
    expect(first.headers['cache-status']).toMatch(/^portico; fwd=uri-miss; fwd-status=200; stored; ttl=(59|60)$/);
    expect(first.body).toBe('stored body');
    const second = await hit(p);
    expect(second.status).toBe(200);
    expect(second.body).toBe('stored body');
    expect(second.headers['content-length']).toBe('11');
    expect(second.headers['x-origin']).toBe('yes');
    expect(second.headers.age).toMatch(/^\d+$/);
    expect(second.headers['cache-status']).toMatch(/^portico; hit; ttl=\d+$/);
    expect(second.headers['x-request-id']).toBeTruthy();
    expect(second.headers['x-portico-cache-meta']).toBeUndefined();
    expect(origin.count(p)).toBe(1);
  });

  it('answers a HEAD from a stored GET with its headers and no body', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, body: 'twelve bytes' });
    await get(p);
    const head = await hit(p, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe('12');
    expect(origin.count(p)).toBe(1);
  });

  it("answers the client's matching If-None-Match with 304 and no body from the store", async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60', etag: '"e7"' }, body: 'etagged' });
    await get(p);
    await hit(p);
    const nm = await get(p, { 'if-none-match': 'W/"e7"' });
    expect(nm.status).toBe(304);
    expect(nm.body).toBe('');
    expect(nm.headers.etag).toBe('"e7"');
    expect(nm.headers['content-length']).toBeUndefined();
    expect(nm.headers['cache-status']).toMatch(/^portico; hit/);
    const other = await get(p, { 'if-none-match': '"other"' });
    expect(other.status).toBe(200);
    expect(other.body).toBe('etagged');
    expect(origin.count(p)).toBe(1);
  });

  it('answers one byte range of a stored 200 with 206 from the store', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, body: '0123456789' });
    await get(p);
    await hit(p);
    const part = await get(p, { range: 'bytes=2-4' });
    expect(part.status).toBe(206);
    expect(part.body).toBe('234');
    expect(part.headers['content-range']).toBe('bytes 2-4/10');
    expect(origin.count(p)).toBe(1);
  });

  it('keeps one variant per value of the Vary header', async () => {
    const p = fresh();
    origin.replies.set(p, (req) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'accept-language' },
      body: `lang ${req.headers['accept-language']}`,
    }));
    await get(p, { 'accept-language': 'en' });
    await get(p, { 'accept-language': 'fr' });
    expect((await hit(p, { 'accept-language': 'en' })).body).toBe('lang en');
    expect((await hit(p, { 'accept-language': 'fr' })).body).toBe('lang fr');
    expect(origin.count(p)).toBe(2);
  });

  it('never stores a private response', async () => {
    const p = fresh();
    let i = 0;
    origin.replies.set(p, () => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `private ${++i}` }));
    expect((await get(p)).body).toBe('private 1');
    const again = await get(p);
    expect(again.body).toBe('private 2');
    expect(again.headers['cache-status']).toMatch(/detail=private/);
  });

  it('keys by API-key identity: one consumer never gets what was stored for another', async () => {
    const p = fresh('/k/');
    let i = 0;
    origin.replies.set(p, () => ({ headers: { 'cache-control': 'max-age=60' }, body: `answer ${++i}` }));
    expect((await get(p, { 'x-api-key': ALICE })).body).toBe('answer 1');
    expect((await get(p, { 'x-api-key': BOB })).body).toBe('answer 2');
    expect((await hit(p, { 'x-api-key': ALICE })).body).toBe('answer 1');
    expect((await hit(p, { 'x-api-key': BOB })).body).toBe('answer 2');
    expect(origin.count(p)).toBe(2);
  });

  it('answers a stored 204 with no body and no Content-Length, and validates it once stale', async () => {
    const p = fresh();
    const lastModified = new Date(Date.now() - 100_000).toUTCString();
    origin.replies.set(p, { status: 204, headers: { 'cache-control': 'max-age=60', 'last-modified': lastModified } });
    await get(p);
    const fresh204 = await hit(p);
    expect(fresh204.status).toBe(204);
    expect(fresh204.body).toBe('');
    expect(fresh204.headers['content-length']).toBeUndefined();
    const q = fresh();
    origin.replies.set(q, {
      status: 204,
      headers: { expires: new Date(Date.now() - 5000).toUTCString(), 'last-modified': lastModified },
    });
    await get(q);
    await new Promise((r) => setTimeout(r, 30));
    const stale = await get(q);
    expect(stale.status).toBe(204);
    expect(stale.headers['cache-status']).toMatch(/fwd=stale/);
    expect(origin.count(q)).toBe(2);
  });

  it('keeps each Set-Cookie of a public response apart on a hit', async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'public, max-age=60', 'set-cookie': ['a=1', 'b=2'] }, body: 'c' });
    await get(p);
    const h = await hit(p);
    expect(h.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });
});

describe('cache misses on the Node server', () => {
  it('sends 100 concurrent misses on one key to the origin once, and all get the whole body', async () => {
    const p = fresh();
    const body = 'm'.repeat(3000);
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, body, delayMs: 100 });
    const all = await Promise.all(Array.from({ length: 100 }, () => get(p)));
    expect(all.every((g) => g.status === 200 && g.body === body)).toBe(true);
    expect(origin.count(p)).toBe(1);
  });

  it("answers the client's matching If-None-Match on a miss with 304, and still stores the full body", async () => {
    const p = fresh();
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60', etag: '"m1"' }, body: 'full body' });
    const first = await get(p, { 'if-none-match': '"m1"' });
    expect(first.status).toBe(304);
    expect(first.body).toBe('');
    expect(origin.seen.at(-1)?.headers['if-none-match']).toBeUndefined();
    const later = await hit(p);
    expect(later.status).toBe(200);
    expect(later.body).toBe('full body');
    expect(origin.count(p)).toBe(1);
  });

  it('refreshes a stale entry in the background (stale-while-revalidate) and stores the new body', async () => {
    const p = fresh('/s/');
    let i = 0;
    origin.replies.set(p, () => ({ headers: { 'cache-control': 'max-age=1, stale-while-revalidate=60' }, body: `v${++i}` }));
    expect((await get(p)).body).toBe('v1');
    await new Promise((r) => setTimeout(r, 2100));
    const stale = await get(p);
    expect(stale.body).toBe('v1');
    expect(stale.headers['cache-status']).toMatch(/detail=stale-while-revalidate/);
    let after = await get(p);
    for (let t = 0; t < 50 && after.body !== 'v2'; t++) {
      await new Promise((r) => setTimeout(r, 10));
      after = await get(p);
    }
    expect(after.body).toBe('v2');
    expect(after.headers['cache-status']).toMatch(/^portico; hit/);
    expect(origin.count(p)).toBe(2);
  });

  it('stores nothing when the origin body breaks mid-way, and the client connection is broken', async () => {
    const { createServer } = await import('node:http');
    let served = 0;
    const cut = createServer((_req, res) => {
      served++;
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '1000' });
      res.write('a'.repeat(100));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((r) => cut.listen(0, '127.0.0.1', r));
    const cutGw = await startNodeServer(
      await compileConfig({
        origins: { o: { url: `http://127.0.0.1:${(cut.address() as { port: number }).port}`, region: 'local' } },
        routes: [{ match: { path: '/c/*' }, upstream: 'o', cache: true }],
      }),
      { port: 0, hot: await loadNodeHot('wasm'), log: () => {} },
    );
    const once = () =>
      new Promise<string>((resolve) => {
        const r = httpRequest(`${cutGw.url}/c/cut`, { agent: false }, (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(`ended ${res.headers['cache-status']}`));
          res.on('error', () => resolve('broken'));
          res.on('aborted', () => resolve('broken'));
        });
        r.on('error', () => resolve('broken'));
        r.end();
      });
    expect(await once()).toBe('broken');
    await new Promise((r) => setTimeout(r, 50));
    expect(await once()).toBe('broken');
    expect(served).toBe(2);
    await cutGw.drain();
    cut.closeAllConnections();
    cut.close();
  });

  it('relays a body larger than maxObjectBytes whole and stores none of it', async () => {
    const p = fresh();
    const big = 'b'.repeat(10_000);
    origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, body: big });
    expect((await get(p)).body).toBe(big);
    await new Promise((r) => setTimeout(r, 30));
    const again = await get(p);
    expect(again.body).toBe(big);
    expect(again.headers['cache-status']).toMatch(/^portico; fwd=uri-miss/);
    expect(origin.count(p)).toBe(2);
  });
});
