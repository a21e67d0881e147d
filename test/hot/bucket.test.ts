// Token-bucket behaviour, on all three implementations.
import { describe, expect, it } from 'vitest';
import { consumeBucket, consumeBucketWords, createBucketTable, hashKey } from '../../core/hot/index.ts';
import { describeSkippedBuilds, loadImpls } from './_impls.ts';

const impls = await loadImpls();
const T0 = 1_700_000_000_000;

describe.each(impls.map((impl) => [impl.name, impl] as const))('token buckets on %s', (_name, impl) => {
  const key = (k: string): string => hashKey(impl.hot, k);

  it('starts a new key with a full bucket', () => {
    const t = createBucketTable(impl.hot);
    expect(consumeBucket(t, key('a'), T0, 1, 10, 1)).toEqual({ allowed: true, remaining: 9, waitMs: 0 });
  });

  it('refuses once the bucket is empty and says how long to wait', () => {
    const t = createBucketTable(impl.hot);
    const k = key('b');
    for (let i = 0; i < 3; i++) expect(consumeBucket(t, k, T0, 2, 3, 1).allowed).toBe(true);
    expect(consumeBucket(t, k, T0, 2, 3, 1)).toEqual({ allowed: false, remaining: 0, waitMs: 500 });
    expect(consumeBucket(t, k, T0 + 499, 2, 3, 1).allowed).toBe(false);
    expect(consumeBucket(t, k, T0 + 500, 2, 3, 1)).toEqual({ allowed: true, remaining: 0, waitMs: 0 });
  });

  it('refills at the rate but never above the burst', () => {
    const t = createBucketTable(impl.hot);
    const k = key('c');
    consumeBucket(t, k, T0, 10, 5, 5);
    expect(consumeBucket(t, k, T0 + 200, 10, 5, 0).remaining).toBe(2);
    expect(consumeBucket(t, k, T0 + 60_000, 10, 5, 0).remaining).toBe(5);
  });

  it('refills nothing when time goes backwards', () => {
    const t = createBucketTable(impl.hot);
    const k = key('d');
    consumeBucket(t, k, T0, 1, 2, 2);
    expect(consumeBucket(t, k, T0 - 10_000, 1, 2, 0).remaining).toBe(0);
    // The later timestamp is kept: one second after T0 gives one token, not eleven.
    expect(consumeBucket(t, k, T0 + 1000, 1, 2, 0).remaining).toBe(1);
  });

  it('refuses when cost exceeds burst, with waitMs -1', () => {
    const t = createBucketTable(impl.hot);
    expect(consumeBucket(t, key('e'), T0, 100, 5, 6)).toEqual({ allowed: false, remaining: 5, waitMs: -1 });
  });

  it('keeps fractional tokens', () => {
    const t = createBucketTable(impl.hot);
    const k = key('f');
    consumeBucket(t, k, T0, 1, 1, 1);
    expect(consumeBucket(t, k, T0 + 250, 1, 1, 1)).toEqual({ allowed: false, remaining: 0.25, waitMs: 750 });
  });

  it('keeps keys apart', () => {
    const t = createBucketTable(impl.hot);
    consumeBucket(t, key('g1'), T0, 1, 1, 1);
    expect(consumeBucket(t, key('g1'), T0, 1, 1, 1).allowed).toBe(false);
    expect(consumeBucket(t, key('g2'), T0, 1, 1, 1).allowed).toBe(true);
  });

  it('evicts the least recently used key of a full probe window, which then starts full', () => {
    const t = createBucketTable(impl.hot, { capacity: 8 });
    // Eight keys fill the whole table; key 0 is then the least recently used.
    for (let k = 0; k < 8; k++) expect(consumeBucketWords(t, k, 1, T0, 0, 1, 1).allowed).toBe(true);
    for (let k = 1; k < 8; k++) expect(consumeBucketWords(t, k, 1, T0, 0, 1, 1).allowed).toBe(false);
    expect(consumeBucketWords(t, 8, 1, T0, 0, 1, 1).allowed).toBe(true); // evicts key 0
    for (let k = 1; k < 8; k++) expect(consumeBucketWords(t, k, 1, T0, 0, 1, 1).allowed).toBe(false);
    expect(consumeBucketWords(t, 0, 1, T0, 0, 1, 1).allowed).toBe(true); // back, full again
  });

  it('rejects invalid numbers with a RangeError', () => {
    const t = createBucketTable(impl.hot);
    expect(() => consumeBucket(t, key('h'), Number.NaN, 1, 1, 1)).toThrow(RangeError);
    expect(() => consumeBucket(t, key('h'), T0, -1, 1, 1)).toThrow(RangeError);
    expect(() => consumeBucket(t, 'not-a-hash', T0, 1, 1, 1)).toThrow(RangeError);
  });
});

describeSkippedBuilds('token buckets');
