/**
 * What a runtime hands to core. Capabilities are passed in, never sniffed: a target builds this
 * object from its own APIs (undici on Node, `fetch` on the edge, `caches`, KV, geo headers...).
 */
import type { HotExports } from './hot/index.ts';

/**
 * Sends a request to an origin. It has the shape of `fetch(url, init)`, so an edge runtime's own
 * `fetch` fits as it is; Node supplies an undici-based one. Core hands over a URL and an init
 * rather than a `Request`: building one per request is measurable work on Node, and a runtime
 * that wants one builds it from these two.
 */
export type ForwardFn = (url: string, init: ForwardInit) => Promise<Response>;

/** The outgoing request: a `RequestInit` with every field core decides filled in. */
export interface ForwardInit {
  method: string;
  /** Prepared: hop-by-hop headers removed, X-Forwarded-* and the route's transforms applied. */
  headers: Headers;
  /**
   * The client's body, streamed through; null for GET and HEAD and for requests without one.
   * Read it only when sending it: it may be made on first read (see `nativeBody`).
   */
  body: ReadableStream<Uint8Array> | null;
  /**
   * The same body in the adapter's own form, when the adapter gave one (RequestContext.nativeBody):
   * a forwarder of that runtime sends this instead of `body`, which is then never made.
   */
  nativeBody?: unknown;
  /** Redirects go back to the client as they are. */
  redirect: 'manual';
  /** 'half' when there is a body (what `fetch` needs to send a stream). */
  duplex?: 'half';
  /** Aborts the whole exchange (connect, headers and body): origin timeout, or the client gone. */
  signal: AbortSignal;
  /**
   * The same cancellation without a WHATWG signal (core/upstream/cancel.ts), cheaper where the
   * forwarder takes an EventEmitter-shaped one (undici): `aborted`, `reason`, `once('abort')`,
   * `removeListener`. Reading `signal` makes the AbortSignal; a forwarder that uses this does not.
   */
  cancel?: import('./upstream/cancel.ts').Cancel;
  /**
   * Builds the response body from the origin's chunks, with the route's idle timeout on it.
   * Optional to use: a forward that reads the origin natively (Node) calls it and puts the
   * stream it returns in its Response, and core passes that body on as it is; otherwise
   * (`fetch`) core guards the Response's body itself, which costs one more stream.
   */
  guardBody(source: BodySource): ReadableStream<Uint8Array>;
  /**
   * Present only when the adapter writes relayed bodies itself (RequestContext.nativeRelay) and
   * none of the route's policies reads or rewrites bodies (PolicyDefinition.bodies): a forwarder
   * of that runtime may hand over the origin's body in its own form (Node: undici's Readable)
   * instead of building a stream, and return a Response with a null body. Core keeps the body
   * beside that response (see `relayedBody` in core/upstream), with the route's idle timeout,
   * for the adapter to write.
   */
  relay?(native: unknown): void;
  /** Where the forwarder hands the origin's interim (1xx) responses, when the adapter sends them on. */
  onInformational?(status: number, headers: Record<string, string | string[]>): void;
}

/**
 * The `RequestInit` a `fetch` forwarder sends: the fields of `init` that fetch reads, as a plain
 * object. `init` itself is an instance whose `body` and `signal` are getters on its class (made
 * only when read, see core/upstream/proxy.ts), and a fetch that copies its init with a spread
 * (edge-runtime's does) would lose them, the signal and with it the route's timeout.
 * @example forward: (url, init) => fetch(url, fetchInit(init))
 */
export function fetchInit(init: ForwardInit): RequestInit & { duplex?: 'half' } {
  const out: RequestInit & { duplex?: 'half' } = {
    method: init.method,
    headers: init.headers,
    redirect: init.redirect,
    signal: init.signal,
  };
  const body = init.body;
  if (body !== null) {
    out.body = body;
    out.duplex = 'half';
  }
  return out;
}

/** Where guardBody reads an origin's body from: a `ReadableStreamDefaultReader` has this shape. */
export interface BodySource {
  /** The next chunk, or `{ done: true }` at the end; rejects when the body fails. */
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Stops reading: the client went away, or the origin went silent. */
  cancel(reason?: unknown): Promise<void> | void;
}

/** Where the client is, as far as the platform can tell. Every field may be missing. */
export interface GeoInfo {
  /** ISO 3166-1 alpha-2 country code, e.g. `SG`. */
  country?: string;
  /** Continent code: AF, AN, AS, EU, NA, OC or SA. */
  continent?: string;
  region?: string;
  city?: string;
  latitude?: number;
  longitude?: number;
  /** Platform's name for the point of presence that took the request, e.g. `FRA`. */
  pop?: string;
}

/**
 * Where a client is, by its address (the one the gateway resolved: the peer, or the first
 * untrusted hop of X-Forwarded-For behind trusted proxies); undefined when unknown. Node and Deno
 * build one from an MMDB database (`geo.mmdb`, see core/upstream/mmdb-geo.ts).
 */
export type GeoLookup = (ip: string) => GeoInfo | undefined;

/** One request's context from the runtime adapter. */
export interface RequestContext {
  /** Address of the peer that connected to us (before any X-Forwarded-For processing). */
  clientAddress?: string;
  geo?: GeoInfo;
  /** Keeps work alive after the response has been returned. */
  waitUntil(promise: Promise<unknown>): void;
  /**
   * Calls `listener` if the client goes away before its response is complete; returns the
   * listener's removal. Adapters that can tell this cheaply supply it (Node: the socket closing
   * early); without it core listens on `request.signal`, which on Node costs a full `Request`.
   * `reason`, when given, is the `HttpProblem` the adapter answered the client with before
   * closing (e.g. a request body that went idle: 408); the request is logged with its code.
   */
  onClientGone?(listener: (reason?: unknown) => void): () => void;
  /**
   * The request body in the runtime's own form (Node: the IncomingMessage), or null when the
   * request has none, for a forwarder of the same runtime that can send it as it is: core then
   * hands it over as `ForwardInit.nativeBody` and reads `request.body` only if the forwarder
   * asks for `init.body`. Left out (every runtime but Node), core reads `request.body`.
   */
  nativeBody?: unknown;
  /**
   * True when the adapter writes relayed origin bodies in its own form (see `relayedBody` in
   * core/upstream and ForwardInit.relay): routes whose policies leave bodies alone then skip the
   * web stream of the response body. Left out, every body is a web stream.
   */
  nativeRelay?: boolean;
  /**
   * The request's URL as the adapter has parsed it already (it must be `new URL(request.url)`),
   * so that the gateway does not parse it a second time. Left out, the gateway parses it.
   */
  url?: URL;
  /**
   * Sends an interim (1xx) response of the origin on to the client before the final one (RFC
   * 9110 §15.2), when the adapter can (Node: 102 and 103). Interim responses skip the route's
   * policies and are never stored by the cache; one sent by a try that then failed stays sent.
   */
  onInformational?(status: number, headers: Record<string, string | string[]>): void;
}

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

/** Minimal key-value store (keys, revocations, health). Values are strings; ttl in seconds. */
export interface KVStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { ttlSeconds?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** A response cache. Keys are the caller's (already hashed or not); TTL in seconds. */
export interface CacheStore {
  /** A fresh copy of the stored response, or null when missing or expired. */
  get(key: string): Promise<Response | null>;
  /**
   * Where the store holds its entries in this process's memory (core's LRU): the stored parts
   * themselves, without a Response, by the same rules as `get` (expiry, recency). The same
   * object is returned until the entry is replaced or removed; it must not be changed.
   */
  peek?(key: string): StoredParts | null;
  /** Stores the response's status, headers and body (consuming the body) for `ttlSeconds`. */
  put(key: string, response: Response, options: { ttlSeconds: number }): Promise<void>;
  /** `put` of parts already in hand (the store keeps `parts` as it is), beside `peek`. */
  putParts?(key: string, parts: StoredParts, options: { ttlSeconds: number }): void;
  /** Removes the entry; true when there was one (where the platform can tell). */
  delete(key: string): Promise<boolean>;
  /**
   * Sends a purge (opaque text, the cache policy's JSON) to every other instance that shares
   * this store's fan-out (Node: Redis pub/sub). Absent: a purge reaches this instance only.
   */
  publishPurge?(message: string): Promise<void>;
  /** Subscribes to the purges other instances publish; the listener gets the same text. */
  onPurge?(listener: (message: string) => void): void;
  /** Bytes of response bodies this store holds for this instance, where it can tell (the memory LRU). */
  bytes?(): number;
}

/** A stored response as its parts (CacheStore.peek and putParts); never changed once stored. */
export interface StoredParts {
  readonly status: number;
  readonly statusText: string;
  /** Lower-case names, in order, `set-cookie` once per cookie. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array<ArrayBuffer>;
}

/** How a counter counts (see core/stores/counter-math.ts for the exact arithmetic). */
export type CounterAlgorithm = 'tokenBucket' | 'slidingWindow';

/** One atomic consume: every store applies core/stores/counter-math.ts, `stepCounter`, to the key's state. */
export interface CounterConsume {
  /** The counter's key (already namespaced by the caller: route, limit, client). */
  key: string;
  algorithm: CounterAlgorithm;
  /** Requests per window (sliding window), or the bucket's size (token bucket). */
  limit: number;
  /** Window in milliseconds; a token bucket refills `limit` tokens over it. */
  windowMs: number;
  /** Units this request takes (1 for one request). */
  cost: number;
  /** Milliseconds since the epoch, the caller's clock (so every store computes the same thing). */
  nowMs: number;
}

/** What a consume decided. */
export interface CounterDecision {
  allowed: boolean;
  /** Whole units left after this request. */
  remaining: number;
  /** Milliseconds until this request's cost could be allowed: 0 when allowed, -1 when never (cost > limit). */
  retryAfterMs: number;
  /** Milliseconds until the whole quota is back. */
  resetMs: number;
}

/** Totals of a fixed-window counter (approximate mode's sync). */
export interface WindowTotals {
  /** Everything added to the window asked for, by every instance. */
  current: number;
  /** The window before it. */
  previous: number;
}

/**
 * Counters shared by every instance of the gateway, for rate limits. `consume` is atomic in the
 * store (one Redis script, one Durable Object, one Deno KV check-and-set), so concurrent
 * instances never admit more than the limit together.
 */
export interface CounterStore {
  consume(request: CounterConsume): Promise<CounterDecision>;
  /**
   * Adds `delta` (>= 0) to the fixed window number `window` (floor(now / windowMs)) of `key`, and
   * returns that window's total and the previous window's. Not conditional: approximate mode
   * decides locally and only reports what it admitted.
   */
  add(key: string, windowMs: number, window: number, delta: number): Promise<WindowTotals>;
}

/** The stores a gateway works with; core fills in memory stores for the ones a target lacks. */
export interface Stores {
  kv: KVStore;
  cache: CacheStore;
  /**
   * Counters shared across instances, when the target has them (Redis, Deno KV, Durable
   * Objects). There is no memory fallback: a limit that needs shared counters refuses to start
   * without them rather than silently counting per instance.
   */
  counters?: CounterStore;
}

export interface Capabilities {
  forward: ForwardFn;
  /**
   * Whether timers outlive requests here (Node, Deno): active health checks then run on timers.
   * Without it (isolates) requests start the probes that are due, in waitUntil.
   */
  timers?: boolean;
  /** Milliseconds since the epoch. */
  now(): number;
  /** Hot-path exports: Wasm, wasm2js or the TypeScript twin. */
  hot: HotExports;
  /** Platform stores; any left out is kept in memory by core (one instance's state only). */
  stores?: Partial<Stores>;
  log?(record: LogRecord): void;
  /**
   * Reads a secret by name from the runtime's environment (Node's and Deno's environment variables, Workers
   * bindings, Fastly's secret store, Vercel's env); undefined when it is not set. Config
   * references `{ "env": "NAME" }` are resolved through it once, at startup.
   */
  secrets?(name: string): string | undefined | Promise<string | undefined>;
  /**
   * Client address → place, for requests whose context has no platform geo and no trusted geo
   * header (Node and Deno with `geo.mmdb`). Left out: no lookup.
   */
  geo?: GeoLookup;
}
