/**
 * A CounterStore behind a timeout and a breaker, so that a dead store costs a request at most
 * one timeout, and, once the breaker is open, nothing at all:
 * - every call races `timeoutMs`; a late answer is dropped;
 * - `failures` consecutive failures open the breaker: calls then fail at once for `cooldownMs`;
 * - after the cooldown one call goes through as a probe (half open): success closes the breaker,
 *   failure opens it again for another cooldown;
 * - each change between usable and unusable is logged once (`counter store unreachable` /
 *   `counter store reachable again`), not once per request.
 */
import type { CounterStore, LogRecord } from '../capabilities.ts';

export interface GuardOptions {
  /** Longest wait for one store call, in milliseconds, default 100. */
  timeoutMs?: number;
  /** Consecutive failures that open the breaker, default 3. */
  failures?: number;
  /** How long the breaker stays open before a probe, in milliseconds, default 1000. */
  cooldownMs?: number;
  /** Milliseconds since the epoch, default Date.now. */
  now?: () => number;
  log?: (record: LogRecord) => void;
  /** Name of the store in log lines (e.g. `redis`). */
  name?: string;
}

/** Why a guarded call failed without reaching the store (breaker open), or timed out. */
export class CounterStoreUnavailable extends Error {
  constructor(
    message: string,
    readonly reason: 'open' | 'timeout' | 'error',
  ) {
    super(message);
    this.name = 'CounterStoreUnavailable';
  }
}

export interface GuardedCounterStore extends CounterStore {
  /** `closed` (calls go through), `open` (calls fail at once), `half-open` (a probe is out). */
  readonly state: 'closed' | 'open' | 'half-open';
}

/** @example const counters = guardCounterStore(redisStore, { timeoutMs: 50, log }); */
export function guardCounterStore(store: CounterStore, options: GuardOptions = {}): GuardedCounterStore {
  const timeoutMs = options.timeoutMs ?? 100;
  const threshold = options.failures ?? 3;
  const cooldownMs = options.cooldownMs ?? 1000;
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const name = options.name ?? 'counters';
  let state: 'closed' | 'open' | 'half-open' = 'closed';
  let consecutive = 0;
  let openedAt = 0;

  const fail = (cause: unknown): void => {
    consecutive++;
    if (state === 'half-open' || (state === 'closed' && consecutive >= threshold)) {
      if (state === 'closed') {
        log({
          level: 'error',
          msg: 'counter store unreachable; limits use their onStoreError behaviour',
          store: name,
          cause: cause instanceof Error ? cause.message : String(cause),
          cooldownMs,
        });
      }
      state = 'open';
      openedAt = now();
    }
  };
  const succeed = (): void => {
    consecutive = 0;
    if (state !== 'closed') {
      state = 'closed';
      log({ level: 'info', msg: 'counter store reachable again', store: name });
    }
  };

  async function guarded<T>(call: () => Promise<T>): Promise<T> {
    if (state === 'open') {
      if (now() - openedAt < cooldownMs) throw new CounterStoreUnavailable(`${name}: breaker open`, 'open');
      state = 'half-open';
    } else if (state === 'half-open') {
      // One probe at a time; the others fail at once until it answers.
      throw new CounterStoreUnavailable(`${name}: breaker probing`, 'open');
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const result = await Promise.race([
        call(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new CounterStoreUnavailable(`${name}: no answer within ${timeoutMs} ms`, 'timeout')),
            timeoutMs,
          );
        }),
      ]);
      succeed();
      return result;
    } catch (err) {
      fail(err);
      throw err instanceof CounterStoreUnavailable ? err : new CounterStoreUnavailable(`${name}: ${String(err)}`, 'error');
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    get state() {
      return state;
    },
    consume: (request) => guarded(() => store.consume(request)),
    add: (key, windowMs, window, delta) => guarded(() => store.add(key, windowMs, window, delta)),
  };
}
