export { createMemoryKV } from './memory-kv.ts';
export type { MemoryKVOptions } from './memory-kv.ts';
export { createMemoryCache } from './memory-cache.ts';
export type { MemoryCacheOptions } from './memory-cache.ts';
export { createWebCacheStore } from './web-cache-store.ts';
export type { WebCache } from './web-cache-store.ts';
