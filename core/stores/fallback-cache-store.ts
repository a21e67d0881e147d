/**
 * A CacheStore that moves to a fallback for good once the primary says it cannot work at all:
 * plain workerd exposes `caches.default` but throws "No Cache was configured" on every call when
 * no cache service is set up (miniflare and Cloudflare's edge have one). There, responses are
 * kept in the isolate's memory instead of never.
 */
import type { CacheStore } from '../capabilities.ts';

/**
 * @param unusable whether an error of the primary means it can never work (not a passing failure)
 * @example createFallbackCacheStore(webStore, () => createMemoryCache(), (e) => /No Cache was configured/.test(String(e)))
 */
export function createFallbackCacheStore(
  primary: CacheStore,
  makeFallback: () => CacheStore,
  unusable: (error: unknown) => boolean,
): CacheStore {
  let current = primary;
  async function run<T>(op: (s: CacheStore) => Promise<T>): Promise<T> {
    try {
      return await op(current);
    } catch (err) {
      if (current !== primary || !unusable(err)) throw err;
      current = makeFallback();
      return op(current);
    }
  }
  return {
    get: (key) => run((s) => s.get(key)),
    // The response body can be read once: the fallback gets a clone when the primary failed.
    put: (key, response, options) => {
      const spare = current === primary ? response.clone() : response;
      return run((s) => s.put(key, s === primary ? response : spare, options)).finally(() => {
        if (spare !== response) void spare.body?.cancel().catch(() => undefined);
      });
    },
    delete: (key) => run((s) => s.delete(key)),
  };
}
