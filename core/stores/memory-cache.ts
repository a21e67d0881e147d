/**
 * The in-memory response cache: the fallback where a platform has no cache API of its own. Bounded
 * by entries and bytes, least recently used evicted first.
 */
import type { CacheStore } from '../capabilities.ts';

export interface MemoryCacheOptions {
  /** Milliseconds since the epoch, default Date.now. */
  now?: () => number;
  /** Most responses kept, default 1000. */
  maxEntries?: number;
  /** Most body bytes kept in all, default 64 MiB. A larger single body is not stored. */
  maxBytes?: number;
}

interface Entry {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: Uint8Array;
  expires: number;
}

/** @example const cache = createMemoryCache({ maxBytes: 8 << 20 }); */
export function createMemoryCache(options: MemoryCacheOptions = {}): CacheStore {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 1000;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const entries = new Map<string, Entry>();
  let bytes = 0;

  const remove = (key: string): boolean => {
    const entry = entries.get(key);
    if (!entry) return false;
    entries.delete(key);
    bytes -= entry.body.byteLength;
    return true;
  };

  return {
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return null;
      if (entry.expires <= now()) {
        remove(key);
        return null;
      }
      entries.delete(key);
      entries.set(key, entry);
      // A new Response each time: bodies are single-use.
      return new Response(entry.body.slice(), { status: entry.status, statusText: entry.statusText, headers: entry.headers });
    },
    async put(key, response, { ttlSeconds }) {
      const body = new Uint8Array(await response.arrayBuffer());
      remove(key);
      if (ttlSeconds <= 0 || body.byteLength > maxBytes) return;
      const headers: [string, string][] = [];
      response.headers.forEach((value, name) => {
        headers.push([name, value]);
      });
      entries.set(key, {
        status: response.status,
        statusText: response.statusText,
        headers,
        body,
        expires: now() + ttlSeconds * 1000,
      });
      bytes += body.byteLength;
      while (entries.size > maxEntries || bytes > maxBytes) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        remove(oldest);
      }
    },
    async delete(key) {
      return remove(key);
    },
    bytes: () => bytes,
  };
}
