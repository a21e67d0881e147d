/**
 * Config schemas of the `cache` policy: the route block (`"cache": true`, or an object that
 * overrides the defaults) and the top-level `cacheStore` block (where responses are kept).
 * Cross-field rules are checked in compile.ts, where messages can name the exact path.
 */
import * as v from 'valibot';
import { headerName, wholeNumber } from '../../config/primitives.ts';

/** A year: the longest TTL or window a config may ask for. */
const YEAR_SECONDS = 31_536_000;
const seconds = (field: string) => wholeNumber(field, 'seconds', 0, YEAR_SECONDS);

/** A query-parameter name, or a glob of them with `*` (`utm_*`). */
const queryGlob = v.pipe(
  v.string('expected a query parameter name or glob (string)'),
  v.minLength(1, 'expected a non-empty query parameter name or glob'),
  v.maxLength(128, 'expected a query parameter name or glob of at most 128 characters'),
);
const cookieName = v.pipe(
  v.string('expected a cookie name (string)'),
  v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected a cookie name made of token characters (RFC 6265 §4.1.1)'),
);

export const cacheKeySchema = v.strictObject(
  {
    /** Query parameters left out of the key (and still sent to the origin), globs allowed: `utm_*`. */
    ignoreQuery: v.optional(v.array(queryGlob, 'expected an array of query parameter names or globs')),
    /** Request headers whose values join the key (beside the origin's own Vary). */
    headers: v.optional(v.array(headerName, 'expected an array of header names')),
    /** Cookies whose values join the key. */
    cookies: v.optional(v.array(cookieName, 'expected an array of cookie names')),
    /**
     * On an authenticated route, whether one stored response may serve every identity (default
     * false: the identity is part of the key).
     */
    shared: v.optional(v.boolean('expected shared as true or false')),
  },
  'expected a key block { ignoreQuery?, headers?, cookies?, shared? }',
);

const cacheObjectSchema = v.strictObject(
  {
    /** Freshness in seconds when the origin gives no explicit one (before heuristic freshness). */
    defaultTtl: v.optional(seconds('defaultTtl')),
    /** Freshness in seconds that replaces the origin's (no-store and private are still obeyed). */
    ttl: v.optional(seconds('ttl')),
    /** Seconds a stale response may be served while one background request refreshes it. */
    staleWhileRevalidate: v.optional(seconds('staleWhileRevalidate')),
    /** Seconds a stale response may be served when the origin errs, is unreachable or times out. */
    staleIfError: v.optional(seconds('staleIfError')),
    key: v.optional(cacheKeySchema),
    /** Largest body stored, in bytes, default 8 MiB; a larger one streams through unstored. */
    maxObjectBytes: v.optional(wholeNumber('maxObjectBytes', 'bytes', 1, 512 * 1024 * 1024)),
    /** Response header(s) holding the entry's tags, default `Surrogate-Key` and `Cache-Tag`. */
    tagsHeader: v.optional(v.union([headerName, v.array(headerName)], 'expected a header name or an array of header names')),
  },
  'expected cache as true or { defaultTtl?, ttl?, staleWhileRevalidate?, staleIfError?, key?, maxObjectBytes?, tagsHeader? }',
);

export const cacheSchema = v.union(
  [v.literal(true), cacheObjectSchema],
  'expected cache as true or { defaultTtl?, ttl?, staleWhileRevalidate?, staleIfError?, key?, maxObjectBytes?, tagsHeader? }',
);

/** The top-level `cacheStore` block: where the gateway keeps responses. */
export const cacheStoreSchema = v.strictObject(
  {
    /**
     * `memory` (default): the target's cache (Deno `caches`, Cloudflare `caches.default`,
     * Fastly's cache), or an in-memory LRU where it has none. `redis` (Node): one store shared
     * by every process, at `stores.redis`.
     */
    kind: v.optional(v.picklist(['memory', 'redis'], 'expected kind as "memory" or "redis"')),
    /** Body bytes the in-memory LRU keeps in all, default 64 MiB. */
    maxBytes: v.optional(wholeNumber('maxBytes', 'bytes', 1024, 64 * 1024 * 1024 * 1024)),
    /** Responses the in-memory LRU keeps, default 10000. */
    maxEntries: v.optional(wholeNumber('maxEntries', 'entries', 1, 100_000_000)),
    /**
     * Purges reach every Node process through Redis pub/sub at `stores.redis` (default true when
     * `stores.redis` is set).
     */
    purgeFanOut: v.optional(v.boolean('expected purgeFanOut as true or false')),
  },
  'expected a cacheStore block { kind?, maxBytes?, maxEntries?, purgeFanOut? }',
);

export type CacheBlock = v.InferOutput<typeof cacheSchema>;
export type CacheStoreBlock = v.InferOutput<typeof cacheStoreSchema>;
