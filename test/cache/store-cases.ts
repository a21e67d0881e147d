/**
 * The CacheStore contract, one case table run against every store (memory LRU, Redis, the Web
 * Cache API stores): what a stored response gives back, expiry, delete, and that each read is a
 * fresh Response.
 */
import { expect, it } from 'vitest';
import type { CacheStore } from '../../core/capabilities.ts';

export interface StoreCaseOptions {
  make(): Promise<CacheStore> | CacheStore;
  /** Moves the store's clock (seconds); stores on real time wait instead. */
  advance(seconds: number): Promise<void>;
}

export function runCacheStoreCases({ make, advance }: StoreCaseOptions): void {
  let n = 0;
  const key = () => `k${Date.now()}-${++n}`;

  it('gives back the stored status, headers (Set-Cookie apart) and body', async () => {
    const store = await make();
    const k = key();
    const headers = new Headers({ 'content-type': 'text/plain', 'x-portico-cache-meta': '{"k":"x"}', etag: '"1"' });
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    await store.put(k, new Response('hello body', { status: 203, headers }), { ttlSeconds: 60 });
    const got = await store.get(k);
    expect(got?.status).toBe(203);
    expect(got?.headers.get('etag')).toBe('"1"');
    expect(got?.headers.get('x-portico-cache-meta')).toBe('{"k":"x"}');
    expect(got?.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await got?.text()).toBe('hello body');
  });

  it('gives a new Response on every read (bodies are single-use)', async () => {
    const store = await make();
    const k = key();
    await store.put(k, new Response('twice'), { ttlSeconds: 60 });
    expect(await (await store.get(k))?.text()).toBe('twice');
    expect(await (await store.get(k))?.text()).toBe('twice');
  });

  it('keeps binary bodies byte for byte', async () => {
    const store = await make();
    const k = key();
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7) & 255);
    await store.put(k, new Response(bytes), { ttlSeconds: 60 });
    expect(new Uint8Array(await ((await store.get(k)) as Response).arrayBuffer())).toEqual(bytes);
  });

  it('returns null for a missing key and after the TTL', async () => {
    const store = await make();
    const k = key();
    expect(await store.get(k)).toBeNull();
    await store.put(k, new Response('short'), { ttlSeconds: 1 });
    expect(await store.get(k)).not.toBeNull();
    await advance(2);
    expect(await store.get(k)).toBeNull();
  });

  it('deletes an entry', async () => {
    const store = await make();
    const k = key();
    await store.put(k, new Response('gone'), { ttlSeconds: 60 });
    await store.delete(k);
    expect(await store.get(k)).toBeNull();
  });

  it('replaces an entry put again under the same key', async () => {
    const store = await make();
    const k = key();
    await store.put(k, new Response('one'), { ttlSeconds: 60 });
    await store.put(k, new Response('two'), { ttlSeconds: 60 });
    expect(await (await store.get(k))?.text()).toBe('two');
  });
}
