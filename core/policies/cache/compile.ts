/**
 * Compile step of the `cache` policy: defaults resolved once, globs turned into patterns, the
 * admin token's reference found for the purge endpoint, and the store's settings checked
 * against `stores.redis`. The output is plain JSON.
 */
import type { ConfigIssue } from '../../errors.ts';
import type { SecretRef } from '../../pipeline/policy.ts';
import type { CacheBlock, CacheStoreBlock } from './schema.ts';

/** What one route's cache runs with. Times in seconds, sizes in bytes. */
export interface CompiledCache {
  /** Freshness when the origin gives no explicit one; null: heuristic freshness (RFC 9111 §4.2.2). */
  defaultTtl: number | null;
  /** Freshness replacing the origin's; null: the origin's. */
  ttl: number | null;
  staleWhileRevalidate: number;
  staleIfError: number;
  key: {
    /** Regular-expression sources, anchored, of the query parameters left out of the key. */
    ignoreQuery: string[];
    headers: string[];
    cookies: string[];
    shared: boolean;
  };
  maxObjectBytes: number;
  /** Lower-case names of the tag headers. */
  tagHeaders: string[];
  /** The admin token's reference (the purge endpoint), when the config has an `admin` block. */
  admin: SecretRef | null;
  store: {
    kind: 'memory' | 'redis';
    maxBytes: number;
    maxEntries: number;
    purgeFanOut: boolean;
    /** `stores.redis` (Node), for the Redis store and the purge fan-out. */
    redis: { url: SecretRef; keyPrefix: string | null } | null;
  };
}

export const DEFAULT_MAX_OBJECT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_TAG_HEADERS = ['surrogate-key', 'cache-tag'];
export const DEFAULT_STORE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_STORE_ENTRIES = 10_000;

/** `utm_*` → `^utm_.*$`; every other character is literal. */
export function globSource(glob: string): string {
  return `^${glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')}$`;
}

export function compileCache(
  block: CacheBlock,
  at: string,
  config: Record<string, unknown>,
  issues: ConfigIssue[],
): CompiledCache | undefined {
  const o = block === true ? {} : block;
  const before = issues.length;
  if (o.ttl !== undefined && o.defaultTtl !== undefined) {
    issues.push({
      path: `${at}.defaultTtl`,
      message: "defaultTtl has no effect beside ttl (ttl replaces the origin's freshness always); keep one",
    });
  }
  const headers = (o.key?.headers ?? []).map((h) => h.toLowerCase());
  for (const [i, h] of headers.entries()) {
    if (h === 'authorization' || h === 'cookie') {
      issues.push({
        path: `${at}.key.headers[${i}]`,
        message: `"${h}" cannot join the key in clear (use key.cookies for cookies; the identity joins the key on authenticated routes)`,
      });
    }
  }
  const tags = o.tagsHeader === undefined ? DEFAULT_TAG_HEADERS : Array.isArray(o.tagsHeader) ? o.tagsHeader : [o.tagsHeader];
  const admin = config['admin'] as { token: SecretRef } | undefined;
  const storeBlock = (config['cacheStore'] ?? {}) as CacheStoreBlock;
  const redis = (config['stores'] as { redis?: { url: SecretRef; keyPrefix?: string } } | undefined)?.redis;
  const kind = storeBlock.kind ?? 'memory';
  if (kind === 'redis' && redis === undefined) {
    issues.push({
      path: 'cacheStore.kind',
      message: 'kind "redis" needs stores.redis { url: { "env": "NAME" } } (the Redis server the processes share)',
    });
  }
  if (issues.length > before) return undefined;
  return {
    defaultTtl: o.defaultTtl ?? null,
    ttl: o.ttl ?? null,
    staleWhileRevalidate: o.staleWhileRevalidate ?? 0,
    staleIfError: o.staleIfError ?? 0,
    key: {
      ignoreQuery: (o.key?.ignoreQuery ?? []).map(globSource),
      headers,
      cookies: o.key?.cookies ?? [],
      shared: o.key?.shared ?? false,
    },
    maxObjectBytes: o.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES,
    tagHeaders: tags.map((t) => t.toLowerCase()),
    admin: admin ? { env: admin.token.env } : null,
    store: {
      kind,
      maxBytes: storeBlock.maxBytes ?? DEFAULT_STORE_BYTES,
      maxEntries: storeBlock.maxEntries ?? DEFAULT_STORE_ENTRIES,
      purgeFanOut: storeBlock.purgeFanOut ?? redis !== undefined,
      redis: redis ? { url: { env: redis.url.env }, keyPrefix: redis.keyPrefix ?? null } : null,
    },
  };
}
