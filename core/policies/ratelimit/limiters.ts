/**
 * One limiter per compiled limit, for each mode:
 * - local: per process or isolate. Token buckets live in the hot path's Wasm bucket table
 *   (core/hot/bucket-table.ts); sliding windows in a bounded table of their own here.
 * - approximate: local decisions on the last totals heard from the store plus what this instance
 *   admitted since; what it admitted is sent to the store every `syncMs` (a timer kept alive with
 *   `waitUntil`), never on the request path.
 * - strict: one atomic consume in the store per request.
 */
import type { CounterConsume, CounterDecision, CounterStore, LogRecord, RequestContext } from '../../capabilities.ts';
import { consumeBucketWords, hashKeyInto, type BucketTable, type HotExports } from '../../hot/index.ts';
import { stepCounter } from '../../stores/counter-math.ts';
import { Lru } from '../../stores/lru.ts';
import { CounterStoreUnavailable, type GuardedCounterStore } from '../../stores/guarded-counters.ts';
import type { CompiledLimit } from './compile.ts';

/** Where work that outlives the request goes (the request context's `waitUntil`). */
export type Background = Pick<RequestContext, 'waitUntil'>;

/** A decision, or the store could not be asked (strict) and the limit is `closed`. */
export type LimitOutcome = CounterDecision | 'unavailable';

export interface Limiter {
  readonly limit: CompiledLimit;
  /** Sync when it can be (local), a promise when the store is asked (strict). */
  consume(key: string, cost: number, nowMs: number, background: Background): LimitOutcome | Promise<LimitOutcome>;
}

/** A token bucket in the hot path's table: the counters of every local limit of the gateway share it. */
export class LocalBucket {
  private readonly words = new Uint32Array(2);
  constructor(
    private readonly hot: HotExports,
    private readonly table: BucketTable,
  ) {}

  consume(ns: string, key: string, nowMs: number, capacity: number, windowMs: number, cost: number): CounterDecision {
    hashKeyInto(this.hot, `${ns}\n${key}`, this.words);
    const ratePerSecond = (capacity * 1000) / windowMs;
    const d = consumeBucketWords(this.table, this.words[0]!, this.words[1]!, nowMs, ratePerSecond, capacity, cost);
    const remaining = Math.floor(d.remaining);
    return {
      allowed: d.allowed,
      remaining,
      retryAfterMs: d.waitMs,
      resetMs: Math.ceil(((capacity - d.remaining) * windowMs) / capacity),
    };
  }
}

/**
 * Sliding-window counters kept per instance: a Map in least-recently-used order, bounded by
 * `maxKeys` (the least recently used key goes first, and starts empty when it comes back, so an
 * eviction can only make a limit more lenient).
 */
export class LocalWindows {
  private readonly entries: Lru<string, number[]>;
  constructor(maxKeys: number) {
    this.entries = new Lru(maxKeys);
  }

  consume(c: CounterConsume): CounterDecision {
    const state = this.entries.peek(c.key) ?? null;
    const step = stepCounter(state, c);
    this.entries.set(c.key, step.state);
    return step.decision;
  }
}

/** The per-instance tables: shared by every limit of the gateway. */
export interface LocalTables {
  bucket: LocalBucket;
  windows: LocalWindows;
}

/** A limit counted in this instance only, at `share` of its quota (1 for `local` mode). */
export function createLocalLimiter(limit: CompiledLimit, tables: LocalTables, ns: string, share: number): Limiter {
  const capacity = Math.max(1, Math.floor(limit.capacity * share));
  if (limit.algorithm === 'tokenBucket') {
    return {
      limit,
      consume: (key, cost, nowMs) => tables.bucket.consume(ns, key, nowMs, capacity, limit.windowMs, cost),
    };
  }
  return {
    limit,
    consume: (key, cost, nowMs) =>
      tables.windows.consume({
        key: `${ns}\n${key}`,
        algorithm: 'slidingWindow',
        limit: capacity,
        windowMs: limit.windowMs,
        cost,
        nowMs,
      }),
  };
}

/** Strict: the store decides, atomically. On failure: the local fallback (`open`) or `unavailable` (`closed`). */
export function createStrictLimiter(limit: CompiledLimit, store: GuardedCounterStore, fallback: Limiter): Limiter {
  return {
    limit,
    consume(key, cost, nowMs, background) {
      if (store.state === 'open' || store.state === 'half-open') {
        // Let the breaker probe when its cooldown is over; this request does not wait for it.
        if (store.state === 'open') background.waitUntil(store.consume(probe(limit, key, nowMs)).catch(() => undefined));
        return limit.onStoreError === 'open' ? fallback.consume(key, cost, nowMs, background) : 'unavailable';
      }
      return store
        .consume({
          key: `${limit.scope}\n${key}`,
          algorithm: limit.algorithm,
          limit: limit.capacity,
          windowMs: limit.windowMs,
          cost,
          nowMs,
        })
        .catch(() => (limit.onStoreError === 'open' ? fallback.consume(key, cost, nowMs, background) : 'unavailable'));
    },
  };
}

/** A consume that takes nothing (cost 0): the breaker's probe. */
function probe(limit: CompiledLimit, key: string, nowMs: number): CounterConsume {
  return {
    key: `${limit.scope}\n${key}`,
    algorithm: limit.algorithm,
    limit: limit.capacity,
    windowMs: limit.windowMs,
    cost: 0,
    nowMs,
  };
}

/** Sync rounds one `waitUntil` carries before handing over to a later request. */
const SYNC_LOOP_ROUNDS = 50;

/** A count that waited longer than syncMs + this for its sync, or a sync longer than this, is logged. */
const SLOW_SYNC_MS = 50;

interface ApproxEntry {
  /** Fixed window number the totals are for. */
  window: number;
  /** Store totals last heard: this window's (with our own flushed counts) and the previous one's. */
  current: number;
  previous: number;
  /** Admitted here and not yet sent. */
  pending: number;
  /** Sent, not yet acknowledged. */
  inFlight: number;
}

/**
 * Approximate: decides on `previous * (1 - f) + current + inFlight + pending`, the sliding-window
 * estimate over the totals last heard plus what this instance admitted since. Every `syncMs`
 * the pending counts go to the store (`add`), whose answer is the new totals.
 */
export function createApproximateLimiter(
  limit: CompiledLimit,
  store: GuardedCounterStore,
  fallback: Limiter,
  maxKeys: number,
  log: (record: LogRecord) => void,
  now: () => number,
): Limiter {
  // Evicted below, and only when the oldest key has nothing left to sync.
  const entries = new Lru<string, ApproxEntry>(Number.POSITIVE_INFINITY);
  const dirty = new Set<string>();
  let scheduled = false;
  const W = limit.windowMs;
  // The bound of approximate mode assumes that a count waits at most syncMs + d for its sync
  // and that a sync takes d; an overloaded process or a slow store stretches both. Slow syncs
  // are logged (new maxima at once, else at most once a second), so the bound that held can be
  // worked out from the logs (README, "approximate").
  let firstDirtyAt = 0;
  let lastSlowLog = 0;
  let loggedWait = 0;
  let loggedRoundTrip = 0;

  async function flush(): Promise<void> {
    const snapshot = now();
    const wait = firstDirtyAt === 0 ? 0 : snapshot - firstDirtyAt;
    firstDirtyAt = 0;
    const keys = [...dirty];
    dirty.clear();
    await syncKeys(keys);
    const roundTrip = now() - snapshot;
    if (wait > limit.syncMs + SLOW_SYNC_MS || roundTrip > SLOW_SYNC_MS) {
      const t = now();
      if (t - lastSlowLog >= 1000 || wait > loggedWait || roundTrip > loggedRoundTrip) {
        if (t - lastSlowLog >= 1000) {
          loggedWait = 0;
          loggedRoundTrip = 0;
        }
        loggedWait = Math.max(loggedWait, wait);
        loggedRoundTrip = Math.max(loggedRoundTrip, roundTrip);
        lastSlowLog = t;
        log({
          level: 'warn',
          msg: 'rate-limit sync slower than declared',
          limit: limit.id,
          syncMs: limit.syncMs,
          waitMs: wait,
          roundTripMs: roundTrip,
        });
      }
    }
  }

  async function syncKeys(keys: string[]): Promise<void> {
    await Promise.all(
      keys.map(async (key) => {
        const e = entries.peek(key);
        if (!e) return;
        const window = e.window;
        const delta = e.pending;
        e.pending = 0;
        e.inFlight += delta;
        try {
          const totals = await store.add(`${limit.scope}\n${key}`, W, window, delta);
          e.inFlight -= delta;
          if (e.window === window) {
            e.current = Math.max(e.current, totals.current);
            e.previous = totals.previous;
          } else if (e.window === window + 1) e.previous = Math.max(e.previous, totals.current);
        } catch (err) {
          e.inFlight -= delta;
          if (e.window !== window) return;
          if (err instanceof CounterStoreUnavailable && err.reason === 'timeout') {
            // A late answer most likely means the store did add it: sending it again would count
            // it twice. It stays counted here, as this instance's own part.
            e.current += delta;
          } else {
            // Never reached the store (breaker open, connection down): sent with the next sync.
            e.pending += delta;
            dirty.add(key);
          }
        }
      }),
    );
  }

  /**
   * Syncs every syncMs while there is something to send, inside one `waitUntil` of the request
   * that found the loop idle. The loop ends after SYNC_LOOP_ROUNDS rounds (a platform may cut a
   * `waitUntil` short, e.g. Workers after 30 s), and the next request starts another under its
   * own context; a loop that made no progress for a while (cancelled) is replaced the same way.
   */
  let lastProgress = 0;
  function schedule(background: Background): void {
    if (scheduled && now() - lastProgress < 10 * limit.syncMs + 1000) return;
    scheduled = true;
    lastProgress = now();
    background.waitUntil(
      (async () => {
        try {
          let rounds = 0;
          do {
            await new Promise<void>((resolve) => setTimeout(resolve, limit.syncMs));
            await flush();
            lastProgress = now();
          } while (dirty.size > 0 && ++rounds < SYNC_LOOP_ROUNDS);
        } catch (err) {
          log({ level: 'warn', msg: 'rate-limit sync failed', limit: limit.id, cause: String(err) });
        } finally {
          scheduled = false;
        }
      })(),
    );
  }

  return {
    limit,
    consume(key, cost, nowMs, background) {
      if (store.state === 'open') {
        schedule(background);
        if (limit.onStoreError === 'closed') return 'unavailable';
        return fallback.consume(key, cost, nowMs, background);
      }
      const window = Math.floor(nowMs / W);
      let e = entries.peek(key);
      if (e === undefined) {
        e = { window, current: 0, previous: 0, pending: 0, inFlight: 0 };
        if (entries.size >= maxKeys) {
          const oldest = entries.oldest();
          if (oldest !== undefined && !dirty.has(oldest)) entries.delete(oldest);
        }
      } else {
        if (e.window !== window) {
          // Unsent counts of the old window are sent under it by the next sync.
          const carried = e.current + e.inFlight + e.pending;
          e.previous = e.window === window - 1 ? carried : 0;
          if (e.pending > 0) {
            const oldWindow = e.window;
            const oldDelta = e.pending;
            background.waitUntil(store.add(`${limit.scope}\n${key}`, W, oldWindow, oldDelta).catch(() => undefined));
          }
          e.window = window;
          e.current = 0;
          e.pending = 0;
          e.inFlight = 0;
        }
      }
      entries.set(key, e);
      const f = (nowMs - window * W) / W;
      const estimate = e.previous * (1 - f) + e.current + e.inFlight + e.pending;
      const allowed = estimate + cost <= limit.capacity;
      // A key is synced when it admitted something, and also when it refused (to hear when room is back).
      if (firstDirtyAt === 0) firstDirtyAt = nowMs;
      dirty.add(key);
      schedule(background);
      if (allowed) e.pending += cost;
      const after = estimate + (allowed ? cost : 0);
      return {
        allowed,
        remaining: Math.max(0, Math.floor(limit.capacity - after)),
        retryAfterMs: allowed ? 0 : Math.max(1, Math.ceil((1 - f) * W)),
        resetMs: Math.ceil((2 - f) * W),
      };
    },
  };
}

export type { CounterStore };
