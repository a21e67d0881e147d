/**
 * `cache`: an RFC 9111 shared cache in the route pipeline, after auth and rate limits.
 *
 * Per request: GET and HEAD are keyed (key.ts) and looked up; a fresh entry is answered at once
 * with `Age` and `Cache-Status` (RFC 9211); a stale one is served while one background request
 * refreshes it (stale-while-revalidate), validated with the origin (ETag, Last-Modified; a 304
 * updates the stored headers), or served when the origin fails (stale-if-error). Misses for one
 * key are coalesced into one origin request. Responses are stored only once their whole body has
 * been read from the origin: where bodies are web streams, the store's branch of the body is read
 * whatever the client does; where the adapter relays them natively (Node), the body is collected
 * as it is relayed (body-tap.ts), and a client that leaves mid-body leaves nothing stored (the
 * requests waiting on it then go to the origin themselves). On Node a hit is written from the
 * stored bytes (stored-response.ts). Unsafe methods invalidate their URL and
 * the Location and Content-Location of a success. Origin headers pass through unchanged; `Age`
 * (on answers from the store) and `Cache-Status` are the only ones added.
 */
import type { CacheStore, StoredParts } from '../../capabilities.ts';
import { HeaderMap } from '../../http/header-map.ts';
import { readBody } from '../../http/read-body.ts';
import { definePolicy, type Exchange, type Next, type PolicyRuntime } from '../../pipeline/policy.ts';
import { createMemoryCache } from '../../stores/memory-cache.ts';
import { type CompiledCache, compileCache } from './compile.ts';
import { deltaSeconds, type Directives, httpDate, parseDirectives } from './directives.ts';
import { currentAge, decideStore, type Freshness } from './freshness.ts';
import { cacheUrl, cacheUrlOf, type KeySettings, primaryKey, storeKey, variantKey, varyNames } from './key.ts';
import { PurgeLog, type PurgeMessage } from './purge.ts';
import { purgeEndpoint } from './purge-endpoint.ts';
import { cacheSchema, cacheStoreSchema } from './schema.ts';
import { StoredResponse } from './stored-response.ts';
import { dropBody, tapBody } from './body-tap.ts';
import type { RelayedBody } from '../../upstream/index.ts';

export type { CompiledCache } from './compile.ts';
export { PURGE_PATH } from './purge-endpoint.ts';
export type { PurgeMessage } from './purge.ts';
export { StoredResponse, storedBytes } from './stored-response.ts';
export { type BodyTap, takeBodyTap } from './body-tap.ts';

/** Header carrying an entry's metadata inside the store (never sent to a client). */
export const META_HEADER = 'x-portico-cache-meta';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Finished flights older than this are swept once the table is full. */
const FLIGHT_LINGER_MS = 1000;
const MAX_FLIGHTS = 4096;
/** Statuses a stale entry is served in place of (RFC 5861 §4: 500, 502, 503, 504). */
const ERROR_STATUSES = new Set([500, 502, 503, 504]);
/** How long past its freshness an entry is served when the origin cannot be reached (it is kept that long anyway). */
const DISCONNECTED_STALE_SECONDS = 60;
/** Headers a 304 never replaces in the stored response (RFC 9111 §3.2). */
const NOT_UPDATED = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'content-range', META_HEADER]);

/** What the store holds beside an entry's response. */
interface Meta {
  /** The full key (compared on every read). */
  k: string;
  /** The purge URL. */
  u: string;
  /** Request and response times, ms since the epoch. */
  rq: number;
  rs: number;
  f: Freshness;
  /** Tags. */
  t: string[];
  /** The response's Vary names ([] when none). */
  vh: string[];
  /** 1 on a Vary marker (the primary key of a response that varies). */
  m?: 1;
}

/** Stored parts (CacheStore.peek) read once: their metadata, and their headers as node:http takes them. */
interface Decoded {
  parts: StoredParts;
  meta: Meta | null;
  /** The stored headers without META_HEADER (lower-case names, `set-cookie` as a list). */
  record: Record<string, string | string[]>;
}

/**
 * Parts are never changed once stored, so each is decoded once, on its first hit, and the result
 * kept on them under DECODED. The metadata of parts this process put (CacheStore.putParts keeps
 * the very object) sits on them under PUT_META rather than as JSON in META_HEADER: a miss that
 * stores pays no JSON.stringify, and its first hit no JSON.parse. Both are properties under
 * symbols, not WeakMaps keyed by the parts: a WeakMap entry per stored response is an ephemeron
 * that every collection must process while the entry lives (bench/README.md, cache.ts).
 */
const DECODED = Symbol('portico.cache.decoded');
const PUT_META = Symbol('portico.cache.meta');
type KeptParts = StoredParts & { [DECODED]?: Decoded; [PUT_META]?: Meta };

function decode(parts: KeptParts): Decoded {
  const known = parts[DECODED];
  if (known) return known;
  let meta: Meta | null = parts[PUT_META] ?? null;
  const record: Record<string, string | string[]> = {};
  for (const [name, value] of parts.headers) {
    if (name === META_HEADER) {
      try {
        meta = JSON.parse(value) as Meta;
      } catch {
        meta = null;
      }
    } else if (name === 'set-cookie') {
      const had = record[name];
      record[name] = Array.isArray(had) ? [...had, value] : [value];
    } else {
      const had = record[name];
      record[name] = had === undefined ? value : `${had as string}, ${value}`;
    }
  }
  const d: Decoded = { parts, meta, record };
  parts[DECODED] = d;
  return d;
}

/**
 * A stored entry found: its metadata, and its response as the store gave it, a Response, or as
 * parts (CacheStore.peek), from which a Response is made only when one is needed (validation, a
 * range, a refresh): a plain hit is served from the parts.
 */
class Entry {
  #response: Response | null;

  constructor(
    readonly meta: Meta,
    readonly decoded: Decoded | null,
    response: Response | null,
  ) {
    this.#response = response;
  }

  get response(): Response {
    if (this.#response === null) {
      const p = (this.decoded as Decoded).parts;
      // A 204 or 205 takes no body, not even an empty one (the Response constructor throws).
      this.#response = new Response(p.status === 204 || p.status === 205 ? null : p.body.slice(), {
        status: p.status,
        statusText: p.statusText,
        headers: p.headers as [string, string][],
      });
    }
    return this.#response;
  }

  /** Lets go of the entry's body (a Response's stream; parts need nothing). */
  async drop(): Promise<void> {
    await this.#response?.body?.cancel();
  }
}

/** A response a leader read in full, for its followers. */
interface Buffered {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: Bytes;
  meta: Meta;
  /** storeKey of the primary key, when the request already made it (it is hashed once a miss). */
  primaryStore?: string;
}

/** Bytes over a plain ArrayBuffer (what a Response body takes). */
type Bytes = Uint8Array<ArrayBuffer>;

interface Flight {
  done: Promise<Buffered | null>;
  /** When it finished (ms), 0 while in flight. */
  finishedAt: number;
  /** The gateway's count of finished flights when this one finished, 0 while in flight. */
  finishSeq: number;
}

export interface CacheShared {
  store: CacheStore;
  /** core/upstream's relayedBody, loaded in init (see there). */
  relayedBody: (response: Response) => RelayedBody | undefined;
  purges: PurgeLog;
  flights: Map<string, Flight>;
  /** The size of `flights` at which the next sweep runs: twice what the last sweep left, at least MAX_FLIGHTS. */
  sweepAt: { size: number };
  refreshing: Set<string>;
  adminToken: string | null;
  /** Finished flights so far: a lookup that began before a flight finished may join it. */
  finished: { count: number };
}

export type CacheOutcome = 'hit' | 'stale' | 'miss' | 'revalidated' | 'bypass' | 'uncacheable';

function firstCompiled(runtime: PolicyRuntime): CompiledCache | undefined {
  for (const route of runtime.config.routes) {
    for (const p of route.policies) if (p.name === 'cache') return p.config as CompiledCache;
  }
  return undefined;
}

/** Request directives, with `Pragma: no-cache` read as no-cache when there is no Cache-Control (RFC 9111 §5.4). */
function requestDirectives(headers: Headers): Directives {
  const cc = headers.get('cache-control');
  if (cc === null) {
    const pragma = headers.get('pragma');
    return pragma !== null && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma) ? new Map([['no-cache', true]]) : new Map();
  }
  return parseDirectives(cc);
}

function appendStatus(headers: Headers, value: string): void {
  // RFC 9211 §2: each cache appends its member; the origin's side comes first.
  const prev = headers.get('cache-status');
  headers.set('cache-status', prev ? `${prev}, portico; ${value}` : `portico; ${value}`);
}

/** A response with our Cache-Status (and any extra headers); its body and status as given. */
function withStatus(res: Response, value: string): Response {
  let out = res;
  try {
    appendStatus(res.headers, value);
  } catch {
    // Immutable headers (a platform's fetch response): copy once.
    out = new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
    appendStatus(out.headers, value);
  }
  return out;
}

/** Weak comparison of entity tags (RFC 9110 §8.8.3.2). */
function weakMatch(list: string, etag: string): boolean {
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  const want = bare(etag);
  return list.split(',').some((t) => t.trim() === '*' || bare(t) === want);
}

/**
 * Whether the client's own conditional GET is answered 304 by this response (RFC 9110 §13.2.2).
 * If-Modified-Since is compared with Last-Modified, else with the response's Date, else with
 * when it was received (`receivedAt`, milliseconds), as RFC 9111 §4.3.2 asks of a cache.
 */
function notModified(req: Headers, res: Headers, receivedAt: number): boolean {
  const inm = req.get('if-none-match');
  if (inm !== null) {
    const etag = res.get('etag');
    return etag !== null && weakMatch(inm, etag);
  }
  const ims = httpDate(req.get('if-modified-since'));
  if (Number.isNaN(ims)) return false;
  let modified = httpDate(res.get('last-modified'));
  if (Number.isNaN(modified)) modified = httpDate(res.get('date'));
  // An HTTP date has whole seconds: the time received is compared at that grain.
  if (Number.isNaN(modified)) modified = Math.floor(receivedAt / 1000) * 1000;
  return modified <= ims;
}

/**
 * A 304 for a client whose conditional matched, with the headers a 200 would have carried; a
 * StoredResponse for an adapter that writes core's own forms (`native`), else a Response.
 */
function notModifiedResponse(headers: Headers, native = false): Response {
  const h = new HeaderMap(headers);
  for (const n of ['content-length', 'content-type', 'content-encoding', 'transfer-encoding']) h.delete(n);
  return native ? new StoredResponse(304, h, null) : new Response(null, { status: 304, headers: h });
}

function tagsOf(headers: Headers, names: readonly string[]): string[] {
  const tags: string[] = [];
  for (const n of names) {
    const value = headers.get(n);
    if (value === null) continue;
    for (const t of value.split(/[\s,]+/)) if (t !== '') tags.push(t);
  }
  return tags;
}

function headerList(headers: Headers): [string, string][] {
  const list: [string, string][] = [];
  headers.forEach((value, name) => {
    if (name !== META_HEADER && name !== 'set-cookie') list.push([name, value]);
  });
  // Headers.forEach joins Set-Cookie; getSetCookie keeps each one apart.
  for (const c of headers.getSetCookie?.() ?? []) list.push(['set-cookie', c]);
  return list;
}

export const cachePolicy = definePolicy({
  name: 'cache',
  phase: 'cache',
  // 'none': it never reads a body itself where bodies are relayed natively. A miss returns the
  // very response next() gave, its headers edited in place, and the adapter hands the body it
  // relays to the cache's tap (body-tap.ts); a hit is its own response. Where bodies are web
  // streams (other runtimes, or a route with a body-rewriting policy) it tees them as before.
  bodies: 'none',
  defaultable: true,
  schema: cacheSchema,
  blocks: { cacheStore: cacheStoreSchema },
  compile: (block, { at, issues, config }) => compileCache(block, at, config, issues),
  // Nothing is required: every target's cache works with core's memory LRU, and background work
  // (the store write, a stale-while-revalidate refresh) goes to waitUntil where the target has
  // one; on WASI it runs while the instance lives.
  needs: () => [],
  describe(c: CompiledCache) {
    const parts = [c.ttl !== null ? `ttl ${c.ttl}s` : 'origin freshness'];
    if (c.staleWhileRevalidate) parts.push(`swr ${c.staleWhileRevalidate}s`);
    if (c.staleIfError) parts.push(`sie ${c.staleIfError}s`);
    if (c.key.shared) parts.push('shared');
    return parts.join(', ');
  },
  async init(runtime): Promise<CacheShared> {
    const first = firstCompiled(runtime);
    // Where the target gave no cache, an LRU sized by the config's cacheStore block.
    const store =
      runtime.sharedStores.cache || !first
        ? runtime.stores.cache
        : createMemoryCache({ now: runtime.now, maxBytes: first.store.maxBytes, maxEntries: first.store.maxEntries });
    const purges = new PurgeLog();
    store.onPurge?.((text) => {
      try {
        purges.apply(JSON.parse(text) as PurgeMessage);
        runtime.metrics?.cachePurge();
      } catch {
        runtime.log({ level: 'warn', msg: 'cache purge message ignored: not JSON' });
      }
    });
    const adminToken = first?.admin ? await runtime.secret(first.admin, 'admin.token') : null;
    // Loaded here, not imported at the top: core/upstream imports the config, whose schema lists
    // the policies, this one among them; a static import made that a cycle that left the
    // policy list unset in bundles (the Node build failed to start).
    const { relayedBody } = await import('../../upstream/index.ts');
    return {
      store,
      relayedBody,
      purges,
      flights: new Map(),
      sweepAt: { size: MAX_FLIGHTS },
      refreshing: new Set(),
      adminToken,
      finished: { count: 0 },
    };
  },
  endpoints(runtime, shared) {
    if (shared.adminToken === null) return [];
    const publish = shared.store.publishPurge;
    return [
      purgeEndpoint(
        shared.adminToken,
        runtime.now,
        (m) => {
          shared.purges.apply(m);
          runtime.metrics?.cachePurge();
        },
        publish ? (m) => publish.call(shared.store, JSON.stringify(m)) : undefined,
      ),
    ];
  },
  create(compiled, runtime, shared) {
    return createCacheHandler(compiled, runtime, shared);
  },
});

function createCacheHandler(c: CompiledCache, runtime: PolicyRuntime, shared: CacheShared) {
  const { store, purges, flights, refreshing, relayedBody } = shared;
  const now = runtime.now;
  const hot = runtime.hot;
  const keySettings: KeySettings = {
    ignoreQuery: c.key.ignoreQuery.map((s) => new RegExp(s)),
    headers: c.key.headers,
    cookies: c.key.cookies,
    shared: c.key.shared,
  };

  const canPeek = store.peek !== undefined;
  let reportedStoreError = false;
  function storeFailed(err: unknown): null {
    // A store that fails is a miss, never a 5xx: the origin answers, and the write may work.
    if (!reportedStoreError) {
      reportedStoreError = true;
      runtime.log({ level: 'warn', msg: 'cache store read failed', cause: err instanceof Error ? err.message : String(err) });
    }
    return null;
  }

  /** The entry under `full` from a store that answers at once (CacheStore.peek: core's LRU). */
  function peek(full: string, key = storeKey(hot, full)): Entry | null | 'collision' {
    let parts: StoredParts | null;
    try {
      parts = store.peek?.(key) ?? null;
    } catch (err) {
      return storeFailed(err);
    }
    if (parts === null) return null;
    const d = decode(parts);
    return d.meta === null || d.meta.k !== full ? 'collision' : new Entry(d.meta, d, null);
  }

  async function read(full: string, key = storeKey(hot, full)): Promise<Entry | null | 'collision'> {
    let response: Response | null;
    try {
      response = await store.get(key);
    } catch (err) {
      return storeFailed(err);
    }
    if (response === null) return null;
    const text = response.headers.get(META_HEADER);
    let meta: Meta | null = null;
    try {
      meta = text === null ? null : (JSON.parse(text) as Meta);
    } catch {
      meta = null;
    }
    if (meta === null || meta.k !== full) {
      await response.body?.cancel();
      return 'collision';
    }
    return new Entry(meta, null, response);
  }

  type Lookup = { kind: 'found'; entry: Entry; soft: boolean } | { kind: 'uri-miss' | 'vary-miss' | 'miss' };

  /**
   * The stored entry for the request, through its Vary marker when it has one. From a store that
   * answers at once (peek) the answer is given at once too, with no promise: every hit and miss
   * on Node goes that way.
   */
  function lookup(ex: Exchange, primary: string, primaryStore: string): Lookup | Promise<Lookup> {
    if (!canPeek) return lookupAsync(ex, primary, primaryStore);
    const first = peek(primary, primaryStore);
    if (first === null) return { kind: 'uri-miss' };
    if (first === 'collision') return { kind: 'miss' };
    if (first.meta.m !== 1) return judge(first);
    const second = peek(variantKey(primary, first.meta.vh, ex.request.headers));
    return second === null || second === 'collision' ? { kind: 'vary-miss' } : judge(second);
  }

  async function lookupAsync(ex: Exchange, primary: string, primaryStore: string): Promise<Lookup> {
    const first = await read(primary, primaryStore);
    if (first === null) return { kind: 'uri-miss' };
    if (first === 'collision') return { kind: 'miss' };
    if (first.meta.m !== 1) return judge(first);
    await first.drop();
    const second = await read(variantKey(primary, first.meta.vh, ex.request.headers));
    return second === null || second === 'collision' ? { kind: 'vary-miss' } : judge(second);
  }

  /** A found entry, unless a purge since it was stored removed it (a soft purge marks it stale). */
  function judge(entry: Entry): Lookup {
    const verdict = purges.check(entry.meta.rs, entry.meta.t, entry.meta.u);
    if (verdict === 'hard') {
      void entry.drop().catch(() => {});
      void store.delete(storeKey(hot, entry.meta.k)).then(reportBytes, () => false);
      return { kind: 'uri-miss' };
    }
    return { kind: 'found', entry, soft: verdict === 'soft' };
  }

  /**
   * A client's response from a stored entry (or a leader's buffer). Where the adapter writes
   * core's own response forms (RequestContext.nativeRelay: the Node target), bytes in hand are
   * answered as a StoredResponse, with no WHATWG Response, Headers or stream; elsewhere as a
   * Response. Either way: Age from now, Cache-Status appended, the client's conditional answered.
   */
  function serve(
    ex: Exchange,
    status: number,
    statusText: string,
    stored: Headers | readonly (readonly [string, string])[] | Record<string, string | string[]>,
    body: Bytes | ReadableStream<Uint8Array> | null,
    meta: Meta,
    cacheStatus: string,
  ): Response {
    const native = ex.context.nativeRelay === true;
    // A record comes from decode(): validated by the store's writer already, without META_HEADER.
    const headers =
      Array.isArray(stored) || stored instanceof Headers
        ? new HeaderMap(stored as HeadersInit)
        : HeaderMap.fromRecord(stored as Record<string, string | string[]>);
    headers.delete(META_HEADER);
    const age = currentAge(meta.f, meta.rs, now());
    headers.set('age', String(Math.floor(age)));
    appendStatus(headers, cacheStatus);
    const head = ex.method === 'HEAD';
    if (status === 200 && notModified(ex.request.headers, headers, meta.rs)) {
      if (body instanceof ReadableStream) void body.cancel();
      return notModifiedResponse(headers, native);
    }
    if (head && body instanceof ReadableStream) void body.cancel();
    // A HEAD gets the length a GET's body would have (RFC 9110 §9.3.2), as the Node writer adds
    // it to the GET (targets/node/stored.ts); other runtimes' servers decide that themselves.
    if (native && head && body instanceof Uint8Array && !headers.has('content-length'))
      headers.set('content-length', String(body.byteLength));
    // No body at all for a HEAD, and for a 204 or 205 (a Response would refuse even an empty one).
    const out = head || status === 204 || status === 205 ? null : body;
    if (native && !(out instanceof ReadableStream)) return new StoredResponse(status, headers, out, statusText);
    // A Response copies bytes given to it: the stored ones stay untouched.
    return new Response(out, { status, statusText, headers });
  }

  function serveEntry(ex: Exchange, entry: Entry, cacheStatus: string): Response {
    const d = entry.decoded;
    if (d !== null) return serve(ex, d.parts.status, d.parts.statusText, d.record, d.parts.body, entry.meta, cacheStatus);
    const r = entry.response;
    return serve(ex, r.status, r.statusText, r.headers, r.body, entry.meta, cacheStatus);
  }

  /**
   * Stores a response read in full: the entry under its (variant) key, and, when it varies, a
   * marker under the primary key naming the Vary headers. A store that keeps parts (core's LRU)
   * is written at once and nothing is returned: no promise per miss for a write that is done.
   */
  function put(primary: string, buffered: Buffered): Promise<void> | undefined {
    const ttlSeconds = buffered.meta.f.keep;
    const primaryStore = buffered.primaryStore ?? storeKey(hot, primary);
    // The entry's own key: the primary one unless the response varies.
    const entryStore = buffered.meta.k === primary ? primaryStore : storeKey(hot, buffered.meta.k);
    if (store.putParts) {
      // Core's LRU keeps the parts as they are: no Response, no Headers, and the metadata beside them.
      if (buffered.meta.vh.length > 0) {
        const marker: KeptParts = {
          status: 200,
          statusText: '',
          headers: [],
          body: new Uint8Array(0),
          [PUT_META]: { ...buffered.meta, k: primary, m: 1 },
        };
        store.putParts(primaryStore, marker, { ttlSeconds });
      }
      const parts: KeptParts = {
        status: buffered.status,
        statusText: buffered.statusText,
        headers: buffered.headers,
        body: buffered.body,
      };
      // Assigned rather than a computed key of the literal, whose keyed define can end in V8's
      // runtime (bench/README.md, forwarding, session 16).
      parts[PUT_META] = buffered.meta;
      store.putParts(entryStore, parts, { ttlSeconds });
      reportBytes();
      return undefined;
    }
    return putResponses(primary, buffered, ttlSeconds, primaryStore, entryStore);
  }

  /** put() into a store of Responses, the metadata as JSON in META_HEADER. */
  async function putResponses(
    primary: string,
    buffered: Buffered,
    ttlSeconds: number,
    primaryStore: string,
    entryStore: string,
  ): Promise<void> {
    const headers = new Headers(buffered.headers);
    headers.set(META_HEADER, JSON.stringify(buffered.meta));
    const writes: Promise<void>[] = [];
    if (buffered.meta.vh.length > 0) {
      const marker: Meta = { ...buffered.meta, k: primary, m: 1 };
      writes.push(
        store.put(primaryStore, new Response(null, { headers: { [META_HEADER]: JSON.stringify(marker) } }), {
          ttlSeconds,
        }),
      );
    }
    writes.push(
      store.put(entryStore, new Response(buffered.body, { status: buffered.status, statusText: buffered.statusText, headers }), {
        ttlSeconds,
      }),
    );
    await Promise.all(writes);
    reportBytes();
  }

  /** A store write that failed: the response is served anyway, and the failure logged. */
  function writeFailed(err: unknown): void {
    runtime.log({ level: 'warn', msg: 'cache store write failed', cause: err instanceof Error ? err.message : String(err) });
  }

  /** Feeds `portico_cache_bytes` from the store's own count (stores that cannot tell report nothing). */
  function reportBytes(): void {
    if (store.bytes) runtime.metrics?.cacheBytes?.(store.bytes());
  }

  interface Forwarded {
    response: Response;
    /** The leader's full response, once read and stored; null when it is not shareable. */
    buffered: Promise<Buffered | null>;
  }

  /**
   * Sends the request to the origin and, when the response may be stored, tees its body: one
   * branch to the client, one read in full (independent of the client) and stored at its end.
   * `fwd` is the Cache-Status reason. A request with `no-store` never stores. `primaryStore` is
   * storeKey(primary) when the caller has it.
   */
  async function forward(
    ex: Exchange,
    next: Next,
    primary: string,
    fwd: string,
    reqNoStore: boolean,
    sentAt?: number,
    receivedAt?: number,
    primaryStore?: string,
  ): Promise<Forwarded> {
    const requestTime = sentAt ?? now();
    const res = await next();
    const responseTime = receivedAt ?? now();
    const head = ex.method === 'HEAD';
    const decision = head
      ? ({ store: false, reason: 'uncacheable' } as const)
      : decideStore(res.status, res.headers, ex.request.headers.has('authorization'), c, requestTime, responseTime);
    const length = Number(res.headers.get('content-length') ?? '0');
    if (!decision.store || reqNoStore || length > c.maxObjectBytes) {
      const why = !decision.store ? decision.reason : reqNoStore ? 'request-no-store' : 'too-large';
      ex.logFields['cache'] = head ? 'miss' : 'uncacheable';
      return {
        response: withStatus(res, `fwd=${fwd}; fwd-status=${res.status}${head ? '' : `; detail=${why}`}`),
        buffered: Promise.resolve(null),
      };
    }
    const names = varyNames(res.headers);
    const meta: Meta = {
      k: names.length > 0 ? variantKey(primary, names, ex.request.headers) : primary,
      u: cacheUrl(ex.host, ex.path, ex.url.search, keySettings.ignoreQuery),
      rq: requestTime,
      rs: responseTime,
      f: decision.freshness,
      t: tagsOf(res.headers, c.tagHeaders),
      vh: names,
    };
    const headers = headerList(res.headers);
    const ttl = Math.round(meta.f.life - meta.f.age0);
    const relayed = relayedBody(res);
    if (relayed) {
      // Relayed natively (the Node target): the very response goes to the client, its headers
      // edited in place, and the adapter feeds the body it relays to a tap (body-tap.ts).
      const conditional = res.status === 200 && notModified(ex.request.headers, res.headers, responseTime);
      appendStatus(res.headers, `fwd=${fwd}; fwd-status=${res.status}; stored; ttl=${ttl}`);
      // The client's own conditional matched: it gets a 304, and the body is read for the store alone.
      const response = conditional ? notModifiedResponse(res.headers, true) : res;
      const buffered = new Promise<Buffered | null>((resolve) => {
        tapBody(response, relayed.native, c.maxObjectBytes, conditional, (body) => {
          if (body === null) return resolve(null);
          const b: Buffered = { status: res.status, statusText: res.statusText, headers, body, meta, primaryStore };
          let writing: Promise<void> | undefined;
          try {
            writing = put(primary, b);
          } catch (err) {
            writeFailed(err);
          }
          if (writing === undefined) return resolve(b);
          writing.then(
            () => resolve(b),
            (err: unknown) => {
              writeFailed(err);
              resolve(b);
            },
          );
        });
      });
      ex.context.waitUntil(buffered);
      ex.logFields['cache'] = 'miss';
      return { response, buffered };
    }
    const [toClient, toStore] = res.body ? res.body.tee() : [null, null];
    const buffered = (async (): Promise<Buffered | null> => {
      const body = await readBody(toStore, c.maxObjectBytes);
      if (body === null) return null;
      const b: Buffered = { status: res.status, statusText: res.statusText, headers, body, meta, primaryStore };
      try {
        await put(primary, b);
      } catch (err) {
        writeFailed(err);
      }
      return b;
    })();
    ex.context.waitUntil(buffered);
    ex.logFields['cache'] = 'miss';
    const out = new Response(toClient, { status: res.status, statusText: res.statusText, headers: res.headers });
    appendStatus(out.headers, `fwd=${fwd}; fwd-status=${res.status}; stored; ttl=${ttl}`);
    if (res.status === 200 && notModified(ex.request.headers, out.headers, responseTime)) {
      void toClient?.cancel();
      return { response: notModifiedResponse(out.headers), buffered };
    }
    return { response: out, buffered };
  }

  /** A miss, coalesced: the first request for a key goes to the origin, the others wait for it. */
  async function miss(
    ex: Exchange,
    next: Next,
    primary: string,
    fwd: string,
    reqNoStore: boolean,
    lookupSeq: number,
    primaryStore: string,
  ): Promise<Response> {
    if (ex.method !== 'GET') {
      // A HEAD is never stored, so the client's own conditionals go to the origin, which
      // answers them (a HEAD with a matching If-None-Match gets its 304).
      for (const name of ['if-none-match', 'if-modified-since']) {
        const value = ex.request.headers.get(name);
        if (value !== null) ex.upstreamHeaders.set(name, value);
      }
      return (await forward(ex, next, primary, fwd, reqNoStore, undefined, undefined, primaryStore)).response;
    }
    const t = now();
    const flight = flights.get(primary);
    // A finished flight is joined only by a lookup that began before it finished (its store read
    // may have raced the write); a later miss is a real one (evicted, purged) and goes forward.
    if (flight && (flight.finishSeq === 0 || flight.finishSeq > lookupSeq)) {
      const got = await flight.done;
      const shareable =
        got !== null &&
        (got.meta.vh.length === 0 || variantKey(primary, got.meta.vh, ex.request.headers) === got.meta.k) &&
        // A late joiner of a finished flight: not when a purge or an invalidation came since.
        purges.check(got.meta.rs, got.meta.t, got.meta.u) === 'none';
      if (got && shareable) {
        ex.logFields['cache'] = 'hit';
        const ttl = Math.round(got.meta.f.life - currentAge(got.meta.f, got.meta.rs, now()));
        return serve(
          ex,
          got.status,
          got.statusText,
          got.headers,
          // Shared as it is: serve() never changes it, and a Response copies it.
          got.body,
          got.meta,
          `hit; ttl=${ttl}; detail=coalesced`,
        );
      }
      // Private, uncacheable, too large, or another variant: this request goes to the origin itself.
      return (await forward(ex, next, primary, fwd, reqNoStore, undefined, undefined, primaryStore)).response;
    }
    let settle: (b: Buffered | null) => void = () => {};
    const mine: Flight = { done: new Promise((r) => (settle = r)), finishedAt: 0, finishSeq: 0 };
    flights.set(primary, mine);
    if (flights.size > shared.sweepAt.size) sweepFlights(t);
    const finish = (b: Buffered | null) => {
      settle(b);
      // A store that answers at once (peek) has the entry by now, and its lookups run in the same
      // turn as the flights.get above, so no later lookup can join a finished flight: it goes at
      // once. Kept, thousands of finished flights a second made every flights.get a walk through
      // a Map far larger than the CPU's caches, and kept each miss's objects alive for a second.
      if (b === null || canPeek) {
        if (flights.get(primary) === mine) flights.delete(primary);
      } else {
        mine.finishedAt = now();
        mine.finishSeq = ++shared.finished.count;
      }
    };
    try {
      const forwarded = await forward(ex, next, primary, fwd, reqNoStore, undefined, undefined, primaryStore);
      forwarded.buffered.then(finish, () => finish(null));
      return forwarded.response;
    } catch (err) {
      finish(null);
      throw err;
    }
  }

  function sweepFlights(t: number): void {
    for (const [k, f] of flights) if (f.finishedAt !== 0 && t - f.finishedAt >= FLIGHT_LINGER_MS) flights.delete(k);
    // A sweep walks every flight: with more of them in their linger than MAX_FLIGHTS (misses
    // faster than MAX_FLIGHTS a second), sweeping again on the next miss would find nothing.
    shared.sweepAt.size = Math.max(MAX_FLIGHTS, 2 * flights.size);
  }

  /** Validates a stored entry with the origin: its validators as conditionals, a 304 refreshing it. */
  async function validate(
    ex: Exchange,
    next: Next,
    primary: string,
    entry: Entry,
    fwd: 'stale' | 'request',
    reqNoStore: boolean,
    staleness: number,
  ): Promise<Response> {
    const stored = entry.response.headers;
    const etag = stored.get('etag');
    const lastModified = stored.get('last-modified');
    if (etag !== null) ex.upstreamHeaders.set('if-none-match', etag);
    if (lastModified !== null) ex.upstreamHeaders.set('if-modified-since', lastModified);
    const requestTime = now();
    let res: Response;
    try {
      res = await next();
    } catch (err) {
      await entry.drop();
      throw err;
    }
    const responseTime = now();
    if (res.status === 304 && (etag !== null || lastModified !== null)) {
      dropBody(res, relayedBody(res)?.native);
      const merged = new Headers(stored);
      res.headers.forEach((value, name) => {
        if (!NOT_UPDATED.has(name)) merged.set(name, value);
      });
      const body = await readBody(entry.response.body, Number.POSITIVE_INFINITY);
      const decision = decideStore(
        entry.response.status,
        merged,
        ex.request.headers.has('authorization'),
        c,
        requestTime,
        responseTime,
      );
      ex.logFields['cache'] = 'revalidated';
      if (!decision.store || body === null) {
        merged.delete(META_HEADER);
        appendStatus(merged, `fwd=${fwd}; fwd-status=304`);
        void store.delete(storeKey(hot, entry.meta.k)).then(reportBytes, () => false);
        return new Response(ex.method === 'HEAD' ? null : body, { status: entry.response.status, headers: merged });
      }
      const meta: Meta = {
        ...entry.meta,
        rq: requestTime,
        rs: responseTime,
        f: decision.freshness,
        t: tagsOf(merged, c.tagHeaders),
      };
      const b: Buffered = {
        status: entry.response.status,
        statusText: entry.response.statusText,
        headers: headerList(merged),
        body,
        meta,
        primaryStore: undefined,
      };
      if (!reqNoStore) {
        try {
          const writing = put(primary, b);
          if (writing) ex.context.waitUntil(writing.catch(writeFailed));
        } catch (err) {
          writeFailed(err);
        }
      }
      const ttl = Math.round(meta.f.life - meta.f.age0);
      return serve(ex, b.status, b.statusText, b.headers, body, meta, `fwd=${fwd}; fwd-status=304; stored; ttl=${ttl}`);
    }
    const f = entry.meta.f;
    if (ERROR_STATUSES.has(res.status) && !f.noCache && f.sie > 0 && staleness <= f.sie) {
      dropBody(res, relayedBody(res)?.native);
      ex.logFields['cache'] = 'stale';
      return serveEntry(ex, entry, `fwd=${fwd}; fwd-status=${res.status}; ttl=${-Math.ceil(staleness)}; detail=stale-if-error`);
    }
    // Disconnected (§4.2.4): the gateway could not reach the origin or it timed out (the answer
    // is the gateway's own 502/504, not the origin's). A stale entry the origin did not forbid
    // serving stale (must-revalidate, proxy-revalidate, s-maxage, no-cache) is served then, for
    // DISCONNECTED_STALE_SECONDS past its freshness, even without stale-if-error.
    const code = ex.logFields['code'];
    if (
      (code === 'ERR_UPSTREAM_UNREACHABLE' || code === 'ERR_UPSTREAM_TIMEOUT') &&
      !f.noCache &&
      !f.revalidate &&
      staleness <= DISCONNECTED_STALE_SECONDS
    ) {
      dropBody(res, relayedBody(res)?.native);
      ex.logFields['cache'] = 'stale';
      return serveEntry(ex, entry, `fwd=${fwd}; fwd-status=${res.status}; ttl=${-Math.ceil(staleness)}; detail=disconnected`);
    }
    await entry.drop();
    // A new response: stored in place of the old one if it may be (below); if it may not, the
    // old one is dropped so that it is not served after the origin changed its mind.
    const decision = decideStore(res.status, res.headers, ex.request.headers.has('authorization'), c, requestTime, responseTime);
    if (!decision.store) void store.delete(storeKey(hot, entry.meta.k)).then(reportBytes, () => false);
    return (await forward(ex, async () => res, primary, fwd, reqNoStore, requestTime, responseTime)).response;
  }

  /** Background refresh of a stale entry (stale-while-revalidate), one per key at a time. */
  function refresh(ex: Exchange, next: Next, primary: string, entry: Entry): void {
    const k = entry.meta.k;
    if (refreshing.has(k)) {
      void entry.drop();
      return;
    }
    refreshing.add(k);
    // Nobody writes a background refresh's answer, so its origin body must not be relayed
    // natively: from here on this exchange (whose client has its stale answer) takes web bodies.
    if (ex.context.nativeRelay === true) (ex as { context: Exchange['context'] }).context = { ...ex.context, nativeRelay: false };
    const task = (async () => {
      try {
        const res = await validate(ex, next, primary, entry, 'stale', false, Number.POSITIVE_INFINITY);
        await res.body?.cancel();
      } finally {
        refreshing.delete(k);
      }
    })();
    ex.context.waitUntil(task.catch(() => undefined));
  }

  /** A 206 (or 416) for one byte range of a fresh stored 200; null when the entry cannot answer it. */
  async function serveRange(ex: Exchange, entry: Entry, soft: boolean, range: string): Promise<Response | null> {
    const f = entry.meta.f;
    const age = currentAge(f, entry.meta.rs, now());
    const rd = requestDirectives(ex.request.headers);
    const m = /^bytes=(\d*)-(\d*)$/i.exec(range.trim());
    if (
      soft ||
      f.noCache ||
      age >= f.life ||
      entry.response.status !== 200 ||
      rd.has('no-cache') ||
      rd.has('max-age') ||
      rd.has('min-fresh') ||
      !m ||
      (m[1] === '' && m[2] === '') ||
      ex.request.headers.has('if-range')
    ) {
      await entry.drop();
      return null;
    }
    const body = await readBody(entry.response.body, Number.POSITIVE_INFINITY);
    if (body === null) return null;
    const size = body.byteLength;
    let start: number;
    let end: number;
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]));
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    const headers = new Headers(entry.response.headers);
    headers.delete(META_HEADER);
    headers.set('age', String(Math.floor(age)));
    ex.logFields['cache'] = 'hit';
    if (start >= size || start > end || (m[1] === '' && Number(m[2]) === 0)) {
      for (const n of ['content-length', 'content-type', 'content-encoding']) headers.delete(n);
      headers.set('content-range', `bytes */${size}`);
      appendStatus(headers, `hit; ttl=${Math.round(f.life - age)}; detail=range`);
      return new Response(null, { status: 416, headers });
    }
    headers.set('content-range', `bytes ${start}-${end}/${size}`);
    headers.set('content-length', String(end - start + 1));
    appendStatus(headers, `hit; ttl=${Math.round(f.life - age)}; detail=range`);
    return new Response(ex.method === 'HEAD' ? null : body.slice(start, end + 1), { status: 206, headers });
  }

  /** Invalidates after an unsafe method's success (RFC 9111 §4.4): its URL, Location, Content-Location. */
  function invalidate(ex: Exchange, res: Response): void {
    const urls = [cacheUrl(ex.host, ex.path, ex.url.search, keySettings.ignoreQuery)];
    for (const name of ['location', 'content-location']) {
      const value = res.headers.get(name);
      if (value === null) continue;
      try {
        const target = new URL(value, ex.url);
        // Only the same origin: a response must not invalidate another host's entries (§4.4).
        if (target.host === ex.url.host) urls.push(cacheUrlOf(target));
      } catch {
        // An unparsable Location invalidates nothing.
      }
    }
    purges.apply({ urls, at: now() });
    const primary = primaryKey(ex, keySettings, urls[0] as string);
    if (primary !== null) void store.delete(storeKey(hot, primary)).catch(() => false);
  }

  return async (ex: Exchange, next: Next): Promise<Response> => {
    const method = ex.method;
    if (method !== 'GET' && method !== 'HEAD') {
      const res = await next();
      if (!SAFE_METHODS.has(method) && res.status < 400) invalidate(ex, res);
      ex.logFields['cache'] = 'bypass';
      return withStatus(res, `fwd=bypass; fwd-status=${res.status}`);
    }
    const reqHeaders = ex.request.headers;
    const url = cacheUrl(ex.host, ex.path, ex.url.search, keySettings.ignoreQuery);
    const range = reqHeaders.get('range');
    const primary = primaryKey(ex, keySettings, url);
    if (primary !== null && range !== null) {
      // A Range is answered from a fresh stored 200 (one byte range, RFC 9110 §14); anything
      // else about it goes to the origin and its answer (a 206 or not) is relayed, never stored.
      const looked = lookup(ex, primary, storeKey(hot, primary));
      const found = looked instanceof Promise ? await looked : looked;
      if (found.kind === 'found') {
        const served = await serveRange(ex, found.entry, found.soft, range);
        if (served !== null) return served;
      }
    }
    if (primary === null || range !== null) {
      const res = await next();
      ex.logFields['cache'] = 'bypass';
      return withStatus(res, `fwd=bypass; fwd-status=${res.status}`);
    }
    const rd = requestDirectives(reqHeaders);
    const reqNoStore = rd.has('no-store');
    // The cache makes its own conditionals; the client's are answered from the full response.
    ex.upstreamHeaders.delete('if-none-match');
    ex.upstreamHeaders.delete('if-modified-since');
    const lookupSeq = shared.finished.count;
    const primaryStore = storeKey(hot, primary);
    const looked = lookup(ex, primary, primaryStore);
    const found = looked instanceof Promise ? await looked : looked;
    if (found.kind !== 'found') {
      if (rd.has('only-if-cached')) {
        ex.logFields['cache'] = 'miss';
        const refused = ex.refuse('ERR_CACHE_ONLY_IF_CACHED', 'No stored response satisfies this only-if-cached request.');
        return withStatus(refused, `fwd=${found.kind}; detail=only-if-cached`);
      }
      return miss(ex, next, primary, found.kind, reqNoStore, lookupSeq, primaryStore);
    }
    const { entry } = found;
    const f = entry.meta.f;
    const age = currentAge(f, entry.meta.rs, now());
    const fresh = !found.soft && !f.noCache && age < f.life;
    const staleness = Math.max(0, age - f.life);
    const ttl = Math.round(f.life - age);
    let usable = fresh;
    let reason: 'stale' | 'request' = fresh ? 'request' : 'stale';
    if (rd.has('no-cache')) usable = false;
    const maxAge = deltaSeconds(rd, 'max-age');
    if (maxAge !== undefined && age > maxAge) usable = false;
    const minFresh = deltaSeconds(rd, 'min-fresh');
    if (minFresh !== undefined && f.life - age < minFresh) usable = false;
    let servedStale = false;
    if (!usable && !fresh && rd.has('max-stale') && !f.revalidate && !f.noCache && !rd.has('no-cache')) {
      const maxStale = rd.get('max-stale') === true ? Number.POSITIVE_INFINITY : (deltaSeconds(rd, 'max-stale') ?? 0);
      if (staleness <= maxStale && (maxAge === undefined || age <= maxAge)) {
        usable = true;
        servedStale = true;
      }
    }
    if (usable) {
      ex.logFields['cache'] = servedStale ? 'stale' : 'hit';
      return serveEntry(ex, entry, `hit; ttl=${ttl}`);
    }
    if (rd.has('only-if-cached')) {
      await entry.drop();
      ex.logFields['cache'] = 'miss';
      const refused = ex.refuse(
        'ERR_CACHE_ONLY_IF_CACHED',
        'The stored response is not fresh enough for this only-if-cached request.',
      );
      return withStatus(refused, `fwd=${reason}; detail=only-if-cached`);
    }
    if (fresh) reason = 'request';
    // stale-while-revalidate: the stale answer now, one refresh in the background.
    if (!fresh && !f.noCache && !rd.has('no-cache') && maxAge === undefined && f.swr > 0 && staleness <= f.swr) {
      // Parts are served as they are; a Response's body is cloned for the refresh to read. The
      // answer is made before the refresh starts (which turns this exchange's native relay off).
      const copy = entry.decoded !== null ? entry : new Entry(entry.meta, null, entry.response.clone());
      ex.logFields['cache'] = 'stale';
      const answer = serveEntry(ex, copy, `hit; ttl=${ttl}; detail=stale-while-revalidate`);
      refresh(ex, next, primary, entry);
      return answer;
    }
    return validate(ex, next, primary, entry, reason, reqNoStore, staleness);
  };
}
