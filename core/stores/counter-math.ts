/**
 * The arithmetic of one counter consume, shared by every CounterStore: the memory store, Deno KV
 * and the Durable Object run this function on the key's state; the Redis script
 * (targets/node/redis-store.ts) is the same steps in Lua, in the same order, so a limit counts the
 * same on every store (the contract suite, test/stores/counter-cases.ts, checks it).
 *
 * State is a short array of numbers, stored as it is (or as text in Redis):
 * - token bucket: `[tokens, lastMs]`. A new key starts full (`limit` tokens); tokens refill at
 *   `limit / windowMs` per millisecond, up to `limit`; time going backwards refills nothing.
 * - sliding window: `[window, current, previous]`, the two-window weighted counter (as
 *   Cloudflare describes it): the estimate is `previous * (1 - f) + current`, where `f` is how
 *   far into the current fixed window `now` is. It assumes the previous window's requests were
 *   spread evenly. Its error: each fixed window never takes more than `limit`; an arbitrary
 *   sliding interval of one window can hold up to `limit * (1 + f)` (< 2 × limit) when the
 *   previous window's requests all came at its very end, and fewer than `limit` when they all
 *   came at its start. With evenly spread traffic it is exact.
 */
import type { CounterConsume, CounterDecision } from '../capabilities.ts';

/** One step: the key's next state, how long to keep it (ms), and the decision. */
export interface CounterStep {
  state: number[];
  ttlMs: number;
  decision: CounterDecision;
}

/** Applies one consume to `state` (null: a key never seen or expired). */
export function stepCounter(state: readonly number[] | null, c: CounterConsume): CounterStep {
  return c.algorithm === 'tokenBucket' ? stepTokenBucket(state, c) : stepSlidingWindow(state, c);
}

function stepTokenBucket(state: readonly number[] | null, c: CounterConsume): CounterStep {
  const rate = c.limit / c.windowMs;
  let tokens = c.limit;
  let last = c.nowMs;
  if (state !== null && state.length >= 2) {
    tokens = state[0]!;
    last = state[1]!;
    if (c.nowMs > last) {
      tokens = Math.min(c.limit, tokens + (c.nowMs - last) * rate);
      last = c.nowMs;
    }
  }
  const allowed = c.cost <= tokens;
  if (allowed) tokens -= c.cost;
  const retryAfterMs = allowed ? 0 : c.cost > c.limit ? -1 : Math.ceil((c.cost - tokens) / rate);
  const resetMs = Math.ceil((c.limit - tokens) / rate);
  return {
    state: [tokens, last],
    ttlMs: Math.max(1, resetMs),
    decision: { allowed, remaining: Math.floor(tokens), retryAfterMs, resetMs },
  };
}

function stepSlidingWindow(state: readonly number[] | null, c: CounterConsume): CounterStep {
  const w = Math.floor(c.nowMs / c.windowMs);
  let current = 0;
  let previous = 0;
  if (state !== null && state.length >= 3) {
    if (state[0] === w) {
      current = state[1]!;
      previous = state[2]!;
    } else if (state[0] === w - 1) {
      previous = state[1]!;
    }
  }
  const f = (c.nowMs - w * c.windowMs) / c.windowMs;
  const estimate = previous * (1 - f) + current;
  const allowed = estimate + c.cost <= c.limit;
  if (allowed) current += c.cost;
  const after = estimate + (allowed ? c.cost : 0);
  const remaining = Math.max(0, Math.floor(c.limit - after));
  let retryAfterMs = 0;
  if (!allowed) {
    if (c.cost > c.limit) retryAfterMs = -1;
    else {
      const room = c.limit - current - c.cost;
      if (room >= 0 && previous > 0) {
        // Later in this window, once enough of the previous window has slid out.
        retryAfterMs = Math.ceil((1 - room / previous - f) * c.windowMs);
      } else {
        // In the next window, where this window's count becomes the weighted one.
        const h = current > 0 ? Math.max(0, 1 - (c.limit - c.cost) / current) : 0;
        retryAfterMs = Math.ceil((1 - f + h) * c.windowMs);
      }
      retryAfterMs = Math.max(1, retryAfterMs);
    }
  }
  const resetMs = current > 0 ? Math.ceil((2 - f) * c.windowMs) : previous > 0 ? Math.ceil((1 - f) * c.windowMs) : 0;
  return {
    state: [w, current, previous],
    ttlMs: Math.max(1, Math.ceil((2 - f) * c.windowMs)),
    decision: { allowed, remaining, retryAfterMs, resetMs },
  };
}
