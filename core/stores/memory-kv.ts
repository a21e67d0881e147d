/**
 * The in-memory KV store: the fallback where a platform has none (Node without Redis, Vercel
 * Edge, WASI). It lives in one process or isolate; state is not shared across instances.
 */
import type { KVStore } from '../capabilities.ts';
import { Lru } from './lru.ts';

export interface MemoryKVOptions {
  /** Milliseconds since the epoch, default Date.now. */
  now?: () => number;
  /** Most keys kept; the least recently used goes first. Default 10000. */
  maxEntries?: number;
}

/** @example const kv = createMemoryKV(); await kv.put('k', 'v', { ttlSeconds: 60 }); */
export function createMemoryKV(options: MemoryKVOptions = {}): KVStore {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Lru<string, { value: string; expires: number }>(maxEntries);
  return {
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return null;
      if (entry.expires <= now()) {
        entries.delete(key);
        return null;
      }
      return entry.value;
    },
    async put(key, value, opts) {
      const ttl = opts?.ttlSeconds;
      entries.set(key, { value, expires: ttl === undefined ? Number.POSITIVE_INFINITY : now() + ttl * 1000 });
    },
    async delete(key) {
      entries.delete(key);
    },
  };
}
