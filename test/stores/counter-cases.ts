/**
 * The CounterStore contract, one case table run against every implementation (memory, Redis,
 * Deno KV on real Deno, Durable Objects under miniflare), as hono runs its router cases against
 * every router. Every store must give exactly what core/stores/counter-math.ts gives.
 */
import { describe, expect, it } from 'vitest';
import type { CounterConsume, CounterStore } from '../../core/capabilities.ts';

export interface CounterStoreCaseOptions {
  /** A fresh store (or a store with fresh key names: every case uses keys of its own). */
  make(): Promise<CounterStore> | CounterStore;
  /** Concurrent consumes the atomicity case sends, default 200. */
  concurrency?: number;
}

let unique = 0;
const key = (name: string) => `case-${Date.now()}-${++unique}-${name}`;
const T0 = 1_800_000_000_000;

export function runCounterStoreCases({ make, concurrency = 200 }: CounterStoreCaseOptions): void {
  const bucket = (k: string, nowMs: number, cost = 1): CounterConsume => ({
    key: k,
    algorithm: 'tokenBucket',
    limit: 5,
    windowMs: 1000,
    cost,
    nowMs,
  });
  const window = (k: string, nowMs: number, cost = 1): CounterConsume => ({
    key: k,
    algorithm: 'slidingWindow',
    limit: 10,
    windowMs: 10_000,
    cost,
    nowMs,
  });

  describe('token bucket', () => {
    it('starts full, refuses once empty with the wait until one token is back, and refills with time', async () => {
      const store = await make();
      const k = key('tb');
      const seen = [];
      for (let i = 0; i < 6; i++) seen.push(await store.consume(bucket(k, T0)));
      expect(seen.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
      expect(seen.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
      expect(seen[5]).toEqual({ allowed: false, remaining: 0, retryAfterMs: 200, resetMs: 1000 });
      // 5 tokens per second: one is back after 200 ms, two after 400 ms.
      expect((await store.consume(bucket(k, T0 + 199))).allowed).toBe(false);
      const later = await store.consume(bucket(k, T0 + 400));
      expect(later).toMatchObject({ allowed: true, retryAfterMs: 0 });
      expect(later.remaining).toBeGreaterThanOrEqual(0);
      expect(later.remaining).toBeLessThanOrEqual(1);
      expect(later.resetMs).toBeGreaterThanOrEqual(800);
      expect(later.resetMs).toBeLessThanOrEqual(801);
    });

    it('takes the cost of a request, and never allows a cost above the bucket', async () => {
      const store = await make();
      const k = key('cost');
      expect((await store.consume(bucket(k, T0, 3))).remaining).toBe(2);
      expect((await store.consume(bucket(k, T0, 3))).allowed).toBe(false);
      expect(await store.consume(bucket(k, T0, 6))).toMatchObject({ allowed: false, retryAfterMs: -1 });
    });

    it('keeps keys apart', async () => {
      const store = await make();
      const a = key('a');
      const b = key('b');
      for (let i = 0; i < 5; i++) await store.consume(bucket(a, T0));
      expect((await store.consume(bucket(a, T0))).allowed).toBe(false);
      expect((await store.consume(bucket(b, T0))).allowed).toBe(true);
    });
  });

  describe('sliding window', () => {
    it('counts the previous window by how much of it still overlaps the sliding window', async () => {
      const store = await make();
      const k = key('sw');
      const base = Math.ceil(T0 / 10_000) * 10_000;
      for (let i = 0; i < 10; i++) expect((await store.consume(window(k, base + 1000))).allowed).toBe(true);
      const refused = await store.consume(window(k, base + 1000));
      expect(refused.allowed).toBe(false);
      // Next window, 25 % in: the estimate is 10 * 0.75 = 7.5, so 2 more fit, not 3.
      const next = base + 10_000 + 2500;
      expect((await store.consume(window(k, next))).allowed).toBe(true);
      expect((await store.consume(window(k, next))).allowed).toBe(true);
      const third = await store.consume(window(k, next));
      expect(third.allowed).toBe(false);
      // 7.5 + 2 = 9.5; one more needs the weight at 0.7 or less: 500 ms more (ceil of a float: 500 or 501).
      expect(third.retryAfterMs).toBeGreaterThanOrEqual(500);
      expect(third.retryAfterMs).toBeLessThanOrEqual(501);
      expect(third.remaining).toBe(0);
    });
  });

  describe('atomicity', () => {
    it(`admits exactly the limit of ${concurrency} concurrent consumes on one key`, async () => {
      const store = await make();
      const k = key('race');
      const limit = Math.floor(concurrency / 4);
      const results = await Promise.all(
        Array.from({ length: concurrency }, () =>
          store.consume({ key: k, algorithm: 'tokenBucket', limit, windowMs: 3_600_000, cost: 1, nowMs: T0 }),
        ),
      );
      expect(results.filter((r) => r.allowed).length).toBe(limit);
      const window = await Promise.all(
        Array.from({ length: concurrency }, () =>
          store.consume({ key: `${k}-w`, algorithm: 'slidingWindow', limit, windowMs: 3_600_000, cost: 1, nowMs: T0 }),
        ),
      );
      expect(window.filter((r) => r.allowed).length).toBe(limit);
    });
  });

  describe('add (approximate sync)', () => {
    it('sums what every instance reports per window and gives the previous window back', async () => {
      const store = await make();
      const k = key('add');
      expect(await store.add(k, 1000, 7, 3)).toEqual({ current: 3, previous: 0 });
      expect(await store.add(k, 1000, 7, 4)).toEqual({ current: 7, previous: 0 });
      expect(await store.add(k, 1000, 8, 0)).toEqual({ current: 0, previous: 7 });
      expect(await store.add(k, 1000, 8, 2)).toEqual({ current: 2, previous: 7 });
    });
  });
}
