/**
 * Token buckets kept in a hot-path module's memory.
 *
 * Semantics of one consume (all f64, identical in Wasm, wasm2js and the twin):
 * - a key not in the table starts full: `burst` tokens;
 * - refill: tokens = min(burst, tokens + elapsedMs * ratePerSecond / 1000); when time goes
 *   backwards nothing is refilled and the later timestamp is kept;
 * - allowed iff tokens >= cost, and then tokens -= cost;
 * - waitMs = 0 when allowed, else ceil((cost - tokens) * 1000 / ratePerSecond);
 * - cost > burst can never be allowed: allowed false, waitMs -1 ("never"); likewise a rate of
 *   0 with too few tokens gives waitMs -1.
 *
 * The table has a fixed capacity (a power of two) and uses open addressing with a probe window
 * of 8 slots from the key's home slot. When a new key finds its window full, it takes the slot
 * used least recently (by consume calls) in that window; the evicted key starts full next time.
 * Evicting can only make a limit more lenient, never stricter.
 *
 * @example
 * const table = createBucketTable(hot, { capacity: 4096 });
 * consumeBucket(table, hashKey(hot, 'client-1'), Date.now(), 10, 20, 1);
 * // { allowed: true, remaining: 19, waitMs: 0 }
 */
import type { BucketDecision, HotExports } from './types.ts';
import { MIN_BUCKET_CAPACITY, MAX_BUCKET_CAPACITY, STATUS_BAD_ARGUMENT } from './_layout.ts';
import { hotState, reserveOrThrow } from './_hot-state.ts';

export interface BucketTableOptions {
  /** Number of buckets kept, rounded up to a power of two (8 .. 2^24); default 4096. */
  capacity?: number;
}

export interface BucketTable {
  readonly hot: HotExports;
  /** Pointer of the table in linear memory. */
  readonly ptr: number;
  /** Slots in the table (a power of two). */
  readonly capacity: number;
}

const DEFAULT_CAPACITY = 4096;
const HEX_WORD = 8;
const HASH_HEX_LENGTH = 16;

/** Reserves and initializes a bucket table in `hot`'s memory (once; it is never freed). */
export function createBucketTable(hot: HotExports, options: BucketTableOptions = {}): BucketTable {
  const wanted = options.capacity ?? DEFAULT_CAPACITY;
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_BUCKET_CAPACITY) {
    throw new RangeError(`bucket table: capacity must be an integer in 1..${MAX_BUCKET_CAPACITY}, got ${wanted}`);
  }
  let capacity = MIN_BUCKET_CAPACITY;
  while (capacity < wanted) capacity *= 2;
  const ptr = reserveOrThrow(hot, hot.bucketTableBytes(capacity));
  if (hot.bucketInit(ptr, capacity) !== 0) throw new RangeError(`bucket table: bad capacity ${capacity}`);
  return { hot, ptr, capacity };
}

/** consumeBucket with the key hash given as two u32 words (see hashKeyInto). */
export function consumeBucketWords(
  table: BucketTable,
  keyLo: number,
  keyHi: number,
  nowMs: number,
  ratePerSecond: number,
  burst: number,
  cost: number,
): BucketDecision {
  const { hot } = table;
  const r = hot.bucketConsume(table.ptr, keyLo, keyHi, nowMs, ratePerSecond, burst, cost);
  if (r < 0) {
    throw new RangeError(
      r === STATUS_BAD_ARGUMENT
        ? `consumeBucket: nowMs, ratePerSecond, burst and cost must be finite, and the last three >= 0 (got ${nowMs}, ${ratePerSecond}, ${burst}, ${cost})`
        : 'consumeBucket: not a bucket table',
    );
  }
  const st = hotState(hot);
  const at = st.bucketOutPtr >>> 3;
  return { allowed: r === 1, remaining: st.f64[at]!, waitMs: st.f64[at + 1]! };
}

/**
 * Refills and consumes `cost` tokens from the bucket of `keyHash` (16 hex digits from
 * hashKey). Rate in tokens per second, burst in tokens, nowMs in milliseconds.
 */
export function consumeBucket(
  table: BucketTable,
  keyHash: string,
  nowMs: number,
  ratePerSecond: number,
  burst: number,
  cost: number,
): BucketDecision {
  if (keyHash.length !== HASH_HEX_LENGTH || !/^[0-9a-f]+$/i.test(keyHash)) {
    throw new RangeError(`consumeBucket: key hash must be 16 hex digits, got ${JSON.stringify(keyHash)}`);
  }
  const hi = parseInt(keyHash.slice(0, HEX_WORD), 16);
  const lo = parseInt(keyHash.slice(HEX_WORD), 16);
  return consumeBucketWords(table, lo, hi, nowMs, ratePerSecond, burst, cost);
}
