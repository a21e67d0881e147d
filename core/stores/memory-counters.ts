/**
 * The in-memory CounterStore: exact for one process, and the reference every shared store is
 * checked against (test/stores/counter-cases.ts). It is not a fallback the gateway picks on its
 * own: a limit in `approximate` or `strict` mode on a target without shared counters refuses to
 * start instead (a memory store would silently count per instance).
 */
import type { CounterStore, WindowTotals } from '../capabilities.ts';
import { stepCounter } from './counter-math.ts';
import { Lru } from './lru.ts';

export interface MemoryCounterOptions {
  /** Milliseconds since the epoch, for expiry only (decisions use the caller's `nowMs`). Default Date.now. */
  now?: () => number;
  /** Most keys kept; the least recently used goes first. Default 100000. */
  maxEntries?: number;
}

interface Entry {
  state: number[];
  expires: number;
}

/** @example const counters = createMemoryCounters(); await counters.consume({ key: 'k', algorithm: 'tokenBucket', limit: 10, windowMs: 1000, cost: 1, nowMs: Date.now() }); */
export function createMemoryCounters(options: MemoryCounterOptions = {}): CounterStore {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 100_000;
  const entries = new Lru<string, Entry>(maxEntries);

  const read = (key: string): number[] | null => {
    const entry = entries.peek(key);
    if (!entry) return null;
    if (entry.expires <= now()) {
      entries.delete(key);
      return null;
    }
    return entry.state;
  };
  const write = (key: string, state: number[], ttlMs: number): void => {
    entries.set(key, { state, expires: now() + ttlMs });
  };

  return {
    async consume(request) {
      const step = stepCounter(read(request.key), request);
      write(request.key, step.state, step.ttlMs);
      return step.decision;
    },
    async add(key, windowMs, window, delta): Promise<WindowTotals> {
      const currentKey = `${key}#${window}`;
      const current = (read(currentKey)?.[0] ?? 0) + delta;
      write(currentKey, [current], 2 * windowMs);
      const before = entries.peek(`${key}#${window - 1}`);
      return { current, previous: before && before.expires > now() ? (before.state[0] ?? 0) : 0 };
    },
  };
}
