import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { createGateway } from '../../core/gateway.ts';
import { createTwinHot } from '../../core/hot/index.ts';
import { createMemoryCache, createMemoryKV } from '../../core/stores/index.ts';

describe('memory KV', () => {
  it('expires entries after their TTL and keeps the most recently used when full', async () => {
    let now = 0;
    const kv = createMemoryKV({ now: () => now, maxEntries: 2 });
    await kv.put('a', '1', { ttlSeconds: 1 });
    await kv.put('b', '2');
    expect(await kv.get('a')).toBe('1');
    await kv.put('c', '3'); // evicts b: a was read more recently
    expect(await kv.get('b')).toBeNull();
    expect(await kv.get('c')).toBe('3');
    now = 1000;
    expect(await kv.get('a')).toBeNull();
    await kv.delete('c');
    expect(await kv.get('c')).toBeNull();
  });
});

describe('memory cache', () => {
  it('gives back status, headers and body, as a new Response on every hit', async () => {
    const cache = createMemoryCache();
    await cache.put('k', new Response('payload', { status: 201, headers: { 'x-a': '1', 'content-type': 'text/plain' } }), {
      ttlSeconds: 30,
    });
    const first = await cache.get('k');
    const second = await cache.get('k');
    expect(first?.status).toBe(201);
    expect(first?.headers.get('x-a')).toBe('1');
    expect(await first?.text()).toBe('payload');
    expect(await second?.text()).toBe('payload');
    expect(await cache.get('missing')).toBeNull();
  });

  it('forgets entries after their TTL', async () => {
    let now = 5000;
    const cache = createMemoryCache({ now: () => now });
    await cache.put('k', new Response('x'), { ttlSeconds: 2 });
    now += 1999;
    expect(await cache.get('k')).not.toBeNull();
    now += 1;
    expect(await cache.get('k')).toBeNull();
  });

  it('evicts the least recently used entries to stay within its byte budget, and skips bodies larger than it', async () => {
    const cache = createMemoryCache({ maxBytes: 10 });
    await cache.put('a', new Response('12345'), { ttlSeconds: 60 });
    await cache.put('b', new Response('12345'), { ttlSeconds: 60 });
    await cache.get('a');
    await cache.put('c', new Response('123'), { ttlSeconds: 60 });
    expect(await cache.get('b')).toBeNull();
    expect(await (await cache.get('a'))?.text()).toBe('12345');
    await cache.put('huge', new Response('x'.repeat(11)), { ttlSeconds: 60 });
    expect(await cache.get('huge')).toBeNull();
    expect(await cache.delete('a')).toBe(true);
    expect(await cache.delete('a')).toBe(false);
  });
});

describe('gateway stores', () => {
  it('falls back to memory stores when the target supplies none, and uses the ones it does', async () => {
    const compiled = await compileConfig({ origins: {}, routes: [] });
    const bare = createGateway(compiled, { forward: fetch, now: Date.now, hot: createTwinHot() });
    await bare.stores.kv.put('k', 'v');
    expect(await bare.stores.kv.get('k')).toBe('v');
    await bare.stores.cache.put('r', new Response('body'), { ttlSeconds: 5 });
    expect(await (await bare.stores.cache.get('r'))?.text()).toBe('body');

    const kv = createMemoryKV();
    await kv.put('shared', 'yes');
    const withKv = createGateway(compiled, { forward: fetch, now: Date.now, hot: createTwinHot(), stores: { kv } });
    expect(withKv.stores.kv).toBe(kv);
    expect(await withKv.stores.kv.get('shared')).toBe('yes');
  });
});

describe('web cache store on real Deno', () => {
  it('stores, expires and deletes through Deno caches, restoring the response’s own Cache-Control', () => {
    const deno = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
    const probe = fileURLToPath(new URL('./deno-cache-probe.ts', import.meta.url));
    const r = spawnSync(deno, ['run', '--allow-read', '--allow-env', '--quiet', probe], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, DENO_DIR: mkdtempSync(join(tmpdir(), 'portico-deno-')), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      hit: { status: 203, body: 'hello', type: 'text/plain', cc: 'public, max-age=5', internal: null },
      miss: null,
      expired: null,
      deleted: true,
      afterDelete: null,
      capabilityHasCache: true,
    });
  });
});
