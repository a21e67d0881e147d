/**
 * Deno's shared counters: Deno KV (local SQLite under `--unstable-kv`, FoundationDB on Deno
 * Deploy). A consume reads the key's state, applies core's `stepCounter`, and commits only if the
 * entry is unchanged since the read (`atomic().check(entry)`); on a conflict (another isolate
 * got there first) it reads again and retries, with a short random backoff. So concurrent
 * consumes serialize on the key, and the limit is never exceeded.
 */
import type { CounterStore, WindowTotals } from '../../core/capabilities.ts';
import { stepCounter } from '../../core/stores/counter-math.ts';

/** The Deno KV methods used here (typed locally: no Deno types in this Node-built repo). */
export interface DenoAtomicKv {
  get(key: readonly unknown[]): Promise<{ key: readonly unknown[]; value: unknown; versionstamp: string | null }>;
  atomic(): DenoAtomicOperation;
}
interface DenoAtomicOperation {
  check(...entries: { key: readonly unknown[]; versionstamp: string | null }[]): DenoAtomicOperation;
  set(key: readonly unknown[], value: unknown, options?: { expireIn?: number }): DenoAtomicOperation;
  commit(): Promise<{ ok: boolean }>;
}

export interface DenoKvCounterOptions {
  /** First element of every key, default `portico-counters`. */
  prefix?: string;
  /** Attempts before a consume gives up under contention, default 100. */
  maxAttempts?: number;
}

const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(2 + attempt, 20)));

/** @example const counters = createDenoKvCounters(await Deno.openKv()); */
export function createDenoKvCounters(kv: DenoAtomicKv, options: DenoKvCounterOptions = {}): CounterStore {
  const prefix = options.prefix ?? 'portico-counters';
  const maxAttempts = options.maxAttempts ?? 100;

  async function update<T>(
    key: readonly unknown[],
    change: (value: unknown) => { value: unknown; ttlMs: number; result: T },
  ): Promise<T> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const entry = await kv.get(key);
      const next = change(entry.value);
      const res = await kv.atomic().check(entry).set(key, next.value, { expireIn: next.ttlMs }).commit();
      if (res.ok) return next.result;
      await backoff(attempt);
    }
    throw new Error(`Deno KV: ${maxAttempts} conflicting attempts on one counter`);
  }

  return {
    consume(c) {
      return update([prefix, c.key], (value) => {
        const step = stepCounter(Array.isArray(value) ? (value as number[]) : null, c);
        return { value: step.state, ttlMs: step.ttlMs, result: step.decision };
      });
    },
    async add(key, windowMs, window, delta): Promise<WindowTotals> {
      const current = await update([prefix, key, window], (value) => {
        const total = (typeof value === 'number' ? value : 0) + delta;
        return { value: total, ttlMs: 2 * windowMs, result: total };
      });
      const before = await kv.get([prefix, key, window - 1]);
      return { current, previous: typeof before.value === 'number' ? before.value : 0 };
    },
  };
}
