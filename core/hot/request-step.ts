/**
 * The request step: route match, cache-key hash and rate-limit bucket in ONE crossing into the
 * hot-path module (export `requestStep`, wasm/assembly/step.ts).
 *
 * What one `run(methodBit, host, path, nowMs, rate, burst, cost, clientLo?, clientHi?)` does:
 * 1. match: the first entry (from 0) of the route table matching methodBit, host and path,
 *    exactly as `createMatcher(...).match(methodBit, host, path, 0)`; params via paramStart/End;
 * 2. cache key: XXH64 with seed = methodBit (a u32; high seed word 0) of UTF-8(host) followed
 *    by UTF-8(path), each encoded on its own (lone surrogates as U+FFFD). Same bytes as
 *    `hashKey` would see for `host + path`, but a different seed, so the method is in the key;
 * 3. rate limit: consumeBucketWords(bucketTable, hashLo ^ clientLo, hashHi ^ clientHi, nowMs,
 *    rate, burst, cost): one bucket per (method, host, path) and client, the client given as the
 *    two words of its own hash (hashKeyInto(hot, clientId, out), once per client); with the
 *    default client (0, 0) the bucket is keyed by the cache-key hash alone. The bucket is
 *    consumed whether or not a route matched (404 scans spend tokens too).
 *
 * Host and path are written back to back into the module's reused scratch (the host only when
 * it changed; see the ABI in README.md): nothing is allocated per call but encodeInto's result
 * for a path over 16 characters. Errors are RangeErrors of bad bucket arguments (as
 * consumeBucketWords), thrown before anything is matched or consumed.
 *
 * @example
 * const step = createRequestStep(hot, compileRouteTable(entries), createBucketTable(hot));
 * const i = step.run(METHOD_BITS.GET, 'api.example.com', '/users/42', Date.now(), 10, 20, 1);
 * if (!step.allowed()) return tooManyRequests(step.waitMs());
 * cache.get(step.hashHex());
 */
import type { HotExports } from './types.ts';
import { STATUS_BAD_ARGUMENT } from './_layout.ts';
import { freshState, hotState, type HotState } from './_hot-state.ts';
import { HotMatcher, loadRouteTable, type LoadedTable } from './matcher.ts';
import type { BucketTable } from './bucket-table.ts';
import { hashWordsToHex } from './hash-key.ts';

export class RequestStep {
  private readonly st: HotState;
  private readonly matcher: HotMatcher;
  private readonly buckets: number;
  private lastAllowed = false;

  constructor(hot: HotExports, table: LoadedTable, bucketTable: BucketTable) {
    if (bucketTable.hot !== hot) throw new RangeError('createRequestStep: the bucket table lives in another module');
    if (table.hot !== hot) throw new RangeError('createRequestStep: the route table lives in another module');
    this.st = hotState(hot);
    this.matcher = new HotMatcher(hot, table);
    this.buckets = bucketTable.ptr;
  }

  /**
   * Matches, hashes and consumes (see the file comment).
   * @returns the matched entry index, or -1 for no match.
   */
  run(
    methodBit: number,
    host: string,
    path: string,
    nowMs: number,
    ratePerSecond: number,
    burst: number,
    cost: number,
    clientLo = 0,
    clientHi = 0,
  ): number {
    const r = this.matcher.step(this.buckets, methodBit, host, path, clientLo, clientHi, nowMs, ratePerSecond, burst, cost);
    if (r < 0) {
      throw new RangeError(
        r === STATUS_BAD_ARGUMENT
          ? `requestStep: nowMs, ratePerSecond, burst and cost must be finite, and the last three >= 0 (got ${nowMs}, ${ratePerSecond}, ${burst}, ${cost})`
          : 'requestStep: not a bucket table',
      );
    }
    this.lastAllowed = (r & 1) === 1;
    return (r >> 1) - 1;
  }

  /** Params of the last run that matched (as Matcher: offsets into its path string). */
  paramCount(): number {
    return this.matcher.paramCount();
  }
  paramStart(i: number): number {
    return this.matcher.paramStart(i);
  }
  paramEnd(i: number): number {
    return this.matcher.paramEnd(i);
  }

  /** Whether the last run was allowed by its bucket. */
  allowed(): boolean {
    return this.lastAllowed;
  }
  /** Tokens left in the bucket after the last run. Read before the module's next bucket call. */
  remaining(): number {
    const st = freshState(this.st);
    return st.f64[st.bucketOutPtr >>> 3]!;
  }
  /** Milliseconds until the last run's cost is available: 0 when allowed, -1 for never. */
  waitMs(): number {
    const st = freshState(this.st);
    return st.f64[(st.bucketOutPtr >>> 3) + 1]!;
  }
  /** Low 32 bits of the last run's cache-key hash. Read before the module's next hash. */
  hashLo(): number {
    const st = freshState(this.st);
    return st.u32[st.hashOutPtr >>> 2]!;
  }
  /** High 32 bits of the last run's cache-key hash. */
  hashHi(): number {
    const st = freshState(this.st);
    return st.u32[(st.hashOutPtr >>> 2) + 1]!;
  }
  /** The last run's cache-key hash as 16 lower-case hex digits (allocates a string). */
  hashHex(): string {
    return hashWordsToHex(this.hashLo(), this.hashHi());
  }
}

/**
 * A RequestStep over a route table (a blob from compileRouteTable, loaded once here, or an
 * already loaded table) and a bucket table of the same module.
 */
export function createRequestStep(hot: HotExports, table: Uint8Array | LoadedTable, bucketTable: BucketTable): RequestStep {
  const loaded = table instanceof Uint8Array ? loadRouteTable(hot, table) : table;
  return new RequestStep(hot, loaded, bucketTable);
}
