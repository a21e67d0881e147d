/**
 * The in-memory response cache: the fallback where a platform has no cache API of its own. Bounded
 * by entries and bytes, least recently used evicted first.
 */
import type { CacheStore, StoredParts } from '../capabilities.ts';
import { Lru } from './lru.ts';

export interface MemoryCacheOptions {
  /** Milliseconds since the epoch, default Date.now. */
  now?: () => number;
  /** Most responses kept, default 1000. */
  maxEntries?: number;
  /** Most body bytes kept in all, default 64 MiB. A larger single body is not stored. */
  maxBytes?: number;
}

interface Entry {
  parts: StoredParts;
  expires: number;
}

/** @example const cache = createMemoryCache({ maxBytes: 8 << 20 }); */
export function createMemoryCache(options: MemoryCacheOptions = {}): CacheStore {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 1000;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  // Evicted by `store` below (entries and bytes together), not by the Lru's own bound.
  const entries = new Lru<string, Entry>(Number.POSITIVE_INFINITY);
  let bytes = 0;

  const remove = (key: string): boolean => {
    const entry = entries.peek(key);
    if (!entry) return false;
    entries.delete(key);
    bytes -= entry.parts.body.byteLength;
    return true;
  };

  /** The live entry under `key`, made the most recently used; null when missing or expired. */
  const touch = (key: string): Entry | null => {
    const entry = entries.get(key);
    if (!entry) return null;
    if (entry.expires <= now()) {
      remove(key);
      return null;
    }
    return entry;
  };

  const store = (key: string, parts: StoredParts, ttlSeconds: number): void => {
    if (ttlSeconds <= 0 || parts.body.byteLength > maxBytes) {
      remove(key);
      return;
    }
    const replaced = entries.set(key, { parts, expires: now() + ttlSeconds * 1000 });
    if (replaced !== undefined) bytes -= replaced.parts.body.byteLength;
    bytes += parts.body.byteLength;
    while (entries.size > maxEntries || bytes > maxBytes) {
      const oldest = entries.shift();
      if (oldest === undefined) break;
      bytes -= oldest[1].parts.body.byteLength;
    }
  };

  return {
    async get(key) {
      const entry = touch(key);
      if (entry === null) return null;
      const p = entry.parts;
      // A new Response each time: bodies are single-use.
      // A 204 or 205 takes no body, not even an empty one (the Response constructor throws).
      return new Response(p.status === 204 || p.status === 205 ? null : p.body.slice(), {
        status: p.status,
        statusText: p.statusText,
        headers: p.headers as [string, string][],
      });
    },
    peek(key) {
      return touch(key)?.parts ?? null;
    },
    async put(key, response, { ttlSeconds }) {
      const body = new Uint8Array(await response.arrayBuffer());
      const headers: [string, string][] = [];
      response.headers.forEach((value, name) => {
        headers.push([name, value]);
      });
      store(key, { status: response.status, statusText: response.statusText, headers, body }, ttlSeconds);
    },
    putParts(key, parts, { ttlSeconds }) {
      store(key, parts, ttlSeconds);
    },
    async delete(key) {
      return remove(key);
    },
    bytes: () => bytes,
  };
}
