/**
 * Contracts of the hot path: what the route-table compiler takes, and what the matcher,
 * the cache-key hash and the token bucket give back. The Wasm module, its wasm2js build and
 * the TypeScript twin all sit behind these types, so core never knows which one it has.
 */

/** Method bits. A route's method mask of 0 means "any method". */
export const METHOD_BITS = {
  GET: 1 << 0,
  HEAD: 1 << 1,
  POST: 1 << 2,
  PUT: 1 << 3,
  DELETE: 1 << 4,
  PATCH: 1 << 5,
  OPTIONS: 1 << 6,
  CONNECT: 1 << 7,
  TRACE: 1 << 8,
  /** Any method not listed above (a request can carry it; a route cannot name it). */
  OTHER: 1 << 9,
} as const;

export type MethodName = Exclude<keyof typeof METHOD_BITS, 'OTHER'>;

/** The bit for a request method (upper-case), `OTHER` for anything unknown. */
export function methodBit(method: string): number {
  // typeof, not ??: names such as "toString" or "__proto__" reach Object.prototype.
  const bit = (METHOD_BITS as Record<string, unknown>)[method];
  return typeof bit === 'number' ? bit : METHOD_BITS.OTHER;
}

/** How an entry matches the request host (already lower-cased, port removed). */
export type HostSpec =
  | { kind: 'any' }
  | { kind: 'exact'; value: string }
  /** `*.example.com` is `{ kind: 'suffix', value: '.example.com' }`: one or more labels before it. */
  | { kind: 'suffix'; value: string };

/** One path segment of a pattern: a literal, or a `:param` that takes one non-empty segment. */
export type SegmentSpec = { kind: 'static'; value: string } | { kind: 'param' };

/**
 * How an entry matches the normalized path. The path always starts with `/`; its segments are
 * what lies between slashes, so `/a/` has the segments `a` and the empty string.
 *
 * - `segments` with `rest: false` matches exactly that many segments.
 * - `rest: true` also takes whatever follows: `/api/*` matches `/api`, `/api/` and `/api/x/y`
 *   (not `/apix`); the rest is captured as the last param, without its leading `/`.
 * - `deferred` always matches the path in the hot path: the caller decides (regex routes and
 *   fallbacks), and asks again from the next entry when it says no.
 */
export type PathSpec = { kind: 'segments'; segments: SegmentSpec[]; rest: boolean } | { kind: 'deferred' };

/**
 * One entry of the route table. Entries are given in precedence order: the matcher answers the
 * first entry, at or after `from`, whose host, methods and path all match.
 */
export interface TableEntry {
  host: HostSpec;
  /** Bitwise OR of METHOD_BITS; 0 means any method. */
  methods: number;
  path: PathSpec;
}

/** The outcome of one matcher call. Offsets are into the path string that was matched. */
export interface Matcher {
  /**
   * Finds the first entry at index `from` or later that matches.
   * @returns the entry index, or -1 when none matches.
   */
  match(methodBit: number, host: string, path: string, from: number): number;
  /**
   * `match` again on the host and path of the previous `match`, from `from`, without writing
   * them into the module again: for walking every candidate of one request. Valid only while
   * nothing else has used the module since that `match` (no other matcher's call in between).
   */
  matchNext(methodBit: number, from: number): number;
  /** Number of params captured by the last successful `match` (the rest counts as one). */
  paramCount(): number;
  /** Start offset (in the path string) of param `i` of the last successful `match`. */
  paramStart(i: number): number;
  /** End offset (exclusive) of param `i` of the last successful `match`. */
  paramEnd(i: number): number;
}

/** Decision of one token-bucket consume. */
export interface BucketDecision {
  allowed: boolean;
  /** Tokens left after this call (fractional tokens are possible). */
  remaining: number;
  /** Milliseconds until `cost` tokens are available again; 0 when allowed. */
  waitMs: number;
}

/** The `memory` of a hot-path module: only `buffer` is used, and it may change when memory grows. */
export interface HotMemory {
  readonly buffer: ArrayBuffer;
}

/**
 * The raw export surface of the hot-path module (wasm/assembly/index.ts). The Wasm instance,
 * its wasm2js build and the TypeScript twin all have exactly these functions, with the same
 * semantics. Only numbers cross it: pointers and lengths into `memory`, i32 status codes, f64s.
 * Use the wrappers of core/hot (createMatcher, hashKey, consumeBucket) rather than calling it.
 */
export interface HotExports {
  readonly memory: HotMemory;
  /** Reserves zeroed memory for the instance's lifetime; returns a 16-aligned pointer, or 0. */
  reserve(bytes: number): number;
  /** Pointer of the param output: u32 count, then (start, end) u32 byte offsets. */
  paramsPtr(): number;
  /** Pointer of the hash output: low u32, then high u32. */
  hashOutPtr(): number;
  /** Pointer of the bucket output: remaining f64, then waitMs f64. */
  bucketOutPtr(): number;
  /** 0 when the route table at (table, len) is usable, -2 otherwise. */
  checkTable(table: number, len: number): number;
  /**
   * Entry index of the first match at or after `from`, or -1. Params go to paramsPtr(); a miss
   * leaves that area untouched (the wrappers rely on it).
   */
  matchRoute(
    table: number,
    methodBit: number,
    host: number,
    hostLen: number,
    path: number,
    pathLen: number,
    from: number,
  ): number;
  /** XXH64 of (ptr, len) with a 64-bit seed given as two u32; result at hashOutPtr(). Returns 0. */
  hash64(ptr: number, len: number, seedLo: number, seedHi: number): number;
  /** Bytes needed by a bucket table of `capacity` slots (a power of two, 8 .. 2^24), or 0. */
  bucketTableBytes(capacity: number): number;
  /** Initializes a bucket table; 0, or -3 for a bad capacity. */
  bucketInit(table: number, capacity: number): number;
  /** 1 allowed, 0 denied, -2 bad table, -3 bad argument; remaining and waitMs at bucketOutPtr(). */
  bucketConsume(
    table: number,
    keyLo: number,
    keyHi: number,
    nowMs: number,
    ratePerSecond: number,
    burst: number,
    cost: number,
  ): number;
  /**
   * One crossing per request, over the host bytes at `key` immediately followed by the path:
   * matchRoute(table, methodBit, host, path, from 0) (params at paramsPtr(), a miss leaves
   * them alone); XXH64 of the hostLen + pathLen bytes with seed methodBit (high word 0) at
   * hashOutPtr(); bucketConsume(buckets, hashLo ^ clientLo, hashHi ^ clientHi, nowMs, rate,
   * burst, cost) at bucketOutPtr(), whether or not a route matched.
   * @returns ((entry index + 1) << 1) | allowed (entry index -1 for no match), or -2 (not a
   *   bucket table) / -3 (bad bucket arguments), checked before anything is done.
   */
  requestStep(
    table: number,
    buckets: number,
    methodBit: number,
    key: number,
    hostLen: number,
    pathLen: number,
    clientLo: number,
    clientHi: number,
    nowMs: number,
    ratePerSecond: number,
    burst: number,
    cost: number,
  ): number;
  /**
   * Only in the js-string build (portico.js-string.wasm, compiled with `{ builtins:
   * ['js-string'] }`): matchRoute over a path given as a JS string, which the module reads in
   * place (`wasm:js-string` charCodeAt) into the scratch at `pathPtr` (at most `cap` bytes).
   * Host at (host, hostLen) as for matchRoute. Param offsets are string offsets.
   * @returns matchRoute's answer, or -4 when the path is not ASCII or longer than `cap`
   *   (nothing was matched: encode it and call matchRoute).
   */
  readonly matchRouteStr?: (
    table: number,
    methodBit: number,
    host: number,
    hostLen: number,
    pathPtr: number,
    cap: number,
    path: string,
    from: number,
  ) => number;
}

/** matchRouteStr's answer when it did not take the path (not ASCII, or too long). */
export const STATUS_NOT_COPIED = -4;
