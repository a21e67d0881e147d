// Token buckets in a fixed-capacity open-addressing table in linear memory.
// All arithmetic is f64, which is bit-identical in Wasm, wasm2js and JS (no f32, no fused ops).
import {
  B_CAPACITY, B_MASK, B_MAGIC, B_CLOCK, BUCKET_HEADER_BYTES, BUCKET_MAGIC, S_KEY_LO, S_KEY_HI,
  S_USED, S_TOKENS, S_STAMP, S_TOUCHED, BUCKET_SLOT_BYTES, PROBE_WINDOW, MIN_BUCKET_CAPACITY,
  MAX_BUCKET_CAPACITY, STATUS_BAD_ARGUMENT, STATUS_BAD_TABLE,
} from './layout';
import { BUCKET_OUT } from './memory';

const MS_PER_SECOND: f64 = 1000;
const WAIT_NEVER: f64 = -1;
const DECISION_ALLOWED: i32 = 1;
const DECISION_DENIED: i32 = 0;

/** Bytes a bucket table of `capacity` slots needs (capacity: a power of two, 8 .. 2^24), or 0. */
export function bucketTableBytes(capacity: u32): u32 {
  if (capacity < MIN_BUCKET_CAPACITY || capacity > MAX_BUCKET_CAPACITY || (capacity & (capacity - 1)) != 0) return 0;
  return BUCKET_HEADER_BYTES + capacity * BUCKET_SLOT_BYTES;
}

/** Initializes (or clears) a bucket table at `table`. @returns 0, or STATUS_BAD_ARGUMENT. */
export function bucketInit(table: u32, capacity: u32): i32 {
  const bytes = bucketTableBytes(capacity);
  if (bytes == 0) return STATUS_BAD_ARGUMENT;
  memory.fill(table, 0, bytes);
  store<u32>(table, capacity, B_CAPACITY);
  store<u32>(table, capacity - 1, B_MASK);
  store<u32>(table, BUCKET_MAGIC, B_MAGIC);
  store<f64>(table, 0, B_CLOCK);
  return 0;
}

@inline
function finite(x: f64): bool {
  return x - x == 0;
}

/** Whether bucket arguments are unusable: any not finite, or rate, burst or cost negative. */
@inline
export function badBucketArguments(nowMs: f64, ratePerSecond: f64, burst: f64, cost: f64): bool {
  return !finite(nowMs) || !finite(ratePerSecond) || !finite(burst) || !finite(cost) ||
    ratePerSecond < 0 || burst < 0 || cost < 0;
}

/**
 * Refills and consumes the bucket of key (keyLo, keyHi); see consumeBucket in core/hot.
 * Writes remaining tokens (f64) and waitMs (f64) at bucketOutPtr().
 * @returns 1 allowed, 0 denied, STATUS_BAD_ARGUMENT or STATUS_BAD_TABLE.
 */
export function bucketConsume(
  table: u32, keyLo: u32, keyHi: u32, nowMs: f64, ratePerSecond: f64, burst: f64, cost: f64,
): i32 {
  if (load<u32>(table, B_MAGIC) != BUCKET_MAGIC) return STATUS_BAD_TABLE;
  if (badBucketArguments(nowMs, ratePerSecond, burst, cost)) return STATUS_BAD_ARGUMENT;
  const mask = load<u32>(table, B_MASK);
  const slots: usize = <usize>table + BUCKET_HEADER_BYTES;
  // Home slot from the low word; keys are already well-mixed 64-bit hashes.
  const home = keyLo & mask;
  let slot: usize = 0;
  let firstEmpty: usize = 0;
  let oldest: usize = 0;
  let oldestTouched: f64 = Infinity;
  for (let i: u32 = 0; i < PROBE_WINDOW; i++) {
    const s = slots + <usize>((home + i) & mask) * BUCKET_SLOT_BYTES;
    if (load<u32>(s, S_USED) == 0) {
      if (firstEmpty == 0) firstEmpty = s;
      continue;
    }
    if (load<u32>(s, S_KEY_LO) == keyLo && load<u32>(s, S_KEY_HI) == keyHi) {
      slot = s;
      break;
    }
    const touched = load<f64>(s, S_TOUCHED);
    if (touched < oldestTouched) {
      oldestTouched = touched;
      oldest = s;
    }
  }
  const clock = load<f64>(table, B_CLOCK) + 1;
  store<f64>(table, clock, B_CLOCK);

  let tokens: f64;
  if (slot == 0) {
    // New key (or evicting the least recently used slot of the window): starts full.
    slot = firstEmpty != 0 ? firstEmpty : oldest;
    store<u32>(slot, keyLo, S_KEY_LO);
    store<u32>(slot, keyHi, S_KEY_HI);
    store<u32>(slot, 1, S_USED);
    store<f64>(slot, nowMs, S_STAMP);
    tokens = burst;
  } else {
    tokens = load<f64>(slot, S_TOKENS);
    const stamp = load<f64>(slot, S_STAMP);
    const elapsed = nowMs - stamp;
    // Time going backwards refills nothing and keeps the later stamp.
    if (elapsed > 0) {
      tokens = tokens + elapsed * ratePerSecond / MS_PER_SECOND;
      store<f64>(slot, nowMs, S_STAMP);
    }
    tokens = min<f64>(burst, tokens);
  }
  store<f64>(slot, clock, S_TOUCHED);

  let result: i32;
  let waitMs: f64;
  if (cost > burst) {
    result = DECISION_DENIED;
    waitMs = WAIT_NEVER;
  } else if (tokens >= cost) {
    tokens = tokens - cost;
    result = DECISION_ALLOWED;
    waitMs = 0;
  } else {
    result = DECISION_DENIED;
    waitMs = ratePerSecond > 0 ? Math.ceil((cost - tokens) * MS_PER_SECOND / ratePerSecond) : WAIT_NEVER;
  }
  store<f64>(slot, tokens, S_TOKENS);
  store<f64>(BUCKET_OUT, tokens);
  store<f64>(BUCKET_OUT, waitMs, 8);
  return result;
}
