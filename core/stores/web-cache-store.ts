/**
 * A CacheStore over the Web Cache API (`caches.open(...)` on Deno, `caches.default` on Cloudflare
 * Workers). The Cache API keys by URL and keeps entries until deleted, so the key becomes a URL
 * under a reserved host, and the expiry travels in a header that `get` checks and strips.
 */
import type { CacheStore } from '../capabilities.ts';

/** The Cache API methods used here (a `Cache` from either runtime). */
export interface WebCache {
  match(request: Request | string): Promise<Response | undefined>;
  put(request: Request | string, response: Response): Promise<void>;
  delete(request: Request | string): Promise<boolean>;
}

/** Host of the synthetic cache URLs; `.invalid` can never be a real origin (RFC 6761 §6.4). */
const CACHE_URL_BASE = 'https://cache.portico.invalid/';
/** Header holding the expiry, in milliseconds since the epoch. */
const EXPIRES_HEADER = 'x-portico-expires';
/** Header keeping the response's own Cache-Control while the platform sees ours. */
const ORIGINAL_CACHE_CONTROL = 'x-portico-cache-control';
/**
 * Header keeping the response's Set-Cookie values (a JSON array): Cloudflare's Cache API never
 * stores a response that carries Set-Cookie, so the store hides them from the platform.
 */
const SET_COOKIES = 'x-portico-set-cookie';

/** @example const store = createWebCacheStore(await caches.open('portico')); */
export function createWebCacheStore(cache: WebCache, now: () => number = Date.now): CacheStore {
  const urlOf = (key: string) => CACHE_URL_BASE + encodeURIComponent(key);
  return {
    async get(key) {
      const url = urlOf(key);
      const hit = await cache.match(url);
      if (!hit) return null;
      const expires = Number(hit.headers.get(EXPIRES_HEADER));
      if (!Number.isFinite(expires) || expires <= now()) {
        await hit.body?.cancel();
        await cache.delete(url);
        return null;
      }
      const headers = new Headers(hit.headers);
      headers.delete(EXPIRES_HEADER);
      const original = headers.get(ORIGINAL_CACHE_CONTROL);
      headers.delete(ORIGINAL_CACHE_CONTROL);
      if (original === null) headers.delete('cache-control');
      else headers.set('cache-control', original);
      const cookies = headers.get(SET_COOKIES);
      headers.delete(SET_COOKIES);
      if (cookies !== null) {
        try {
          for (const c of JSON.parse(cookies) as string[]) headers.append('set-cookie', c);
        } catch {
          // A malformed value: the entry is served without its cookies rather than not at all.
        }
      }
      return new Response(hit.body, { status: hit.status, statusText: hit.statusText, headers });
    },
    async put(key, response, { ttlSeconds }) {
      if (ttlSeconds <= 0) {
        await response.body?.cancel();
        return;
      }
      const headers = new Headers(response.headers);
      headers.set(EXPIRES_HEADER, String(now() + ttlSeconds * 1000));
      const original = response.headers.get('cache-control');
      if (original !== null) headers.set(ORIGINAL_CACHE_CONTROL, original);
      const cookies = response.headers.getSetCookie();
      if (cookies.length > 0) {
        headers.delete('set-cookie');
        headers.set(SET_COOKIES, JSON.stringify(cookies));
      }
      // Platform caches (Cloudflare's) also read Cache-Control to decide how long to keep it.
      headers.set('cache-control', `max-age=${Math.ceil(ttlSeconds)}`);
      await cache.put(
        urlOf(key),
        new Response(response.body, { status: response.status, statusText: response.statusText, headers }),
      );
    },
    delete: (key) => cache.delete(urlOf(key)),
  };
}
