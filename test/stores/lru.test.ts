import { describe, expect, it } from 'vitest';
import { Lru } from '../../core/stores/lru.ts';

const keys = <K, V>(lru: Lru<K, V>): K[] => [...lru.entries()].map(([k]) => k);

describe('Lru', () => {
  it('evicts the least recently used beyond its bound, a read counting as a use', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.get('a')).toBe(1);
    lru.set('d', 4);
    expect(lru.peek('b')).toBeUndefined();
    expect(keys(lru)).toEqual(['c', 'a', 'd']);
    expect(lru.size).toBe(3);
  });

  it('peek reads without moving; set of a known key replaces it and makes it the newest', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.peek('a')).toBe(1);
    expect(lru.oldest()).toBe('a');
    lru.set('a', 10);
    expect(keys(lru)).toEqual(['b', 'c', 'a']);
    expect(lru.peek('a')).toBe(10);
    expect(lru.size).toBe(3);
  });

  it('delete and shift unlink from either end and from the middle', () => {
    const lru = new Lru<string, number>(Number.POSITIVE_INFINITY);
    for (const [i, k] of ['a', 'b', 'c', 'd', 'e'].entries()) lru.set(k, i);
    expect(lru.delete('c')).toBe(true);
    expect(lru.delete('c')).toBe(false);
    expect(lru.delete('e')).toBe(true);
    expect(lru.shift()).toEqual(['a', 0]);
    expect(keys(lru)).toEqual(['b', 'd']);
    lru.set('f', 5);
    expect(keys(lru)).toEqual(['b', 'd', 'f']);
    expect(lru.shift()).toEqual(['b', 1]);
    expect(lru.shift()).toEqual(['d', 3]);
    expect(lru.shift()).toEqual(['f', 5]);
    expect(lru.shift()).toBeUndefined();
    expect(lru.oldest()).toBeUndefined();
    lru.set('g', 6);
    expect(keys(lru)).toEqual(['g']);
  });

  it('entries() survives deleting the entry it is on (the nonce sweep)', () => {
    const lru = new Lru<number, number>(100);
    for (let i = 0; i < 10; i++) lru.set(i, i * 10);
    for (const [k, v] of lru.entries()) {
      if (v >= 50) break;
      lru.delete(k);
    }
    expect(keys(lru)).toEqual([5, 6, 7, 8, 9]);
  });

  it('matches a reference model over a long random sequence', () => {
    // The model: an array in use order, oldest first.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const lru = new Lru<number, number>(16);
    const model: [number, number][] = [];
    for (let step = 0; step < 20_000; step++) {
      const key = rand(40);
      const at = model.findIndex(([k]) => k === key);
      switch (rand(4)) {
        case 0: {
          const got = lru.get(key);
          expect(got).toBe(at < 0 ? undefined : model[at]![1]);
          if (at >= 0) model.push(model.splice(at, 1)[0]!);
          break;
        }
        case 1:
          expect(lru.delete(key)).toBe(at >= 0);
          if (at >= 0) model.splice(at, 1);
          break;
        default:
          // set gives back the value it replaced.
          expect(lru.set(key, step)).toBe(at < 0 ? undefined : model[at]![1]);
          if (at >= 0) model.splice(at, 1);
          model.push([key, step]);
          if (model.length > 16) model.shift();
      }
      expect(lru.size).toBe(model.length);
    }
    expect([...lru.entries()]).toEqual(model);
  });

  it('a new key per write through a full 100,000-entry table evicts each key in turn', () => {
    // The pattern (a new key per request) that made a Map evicting keys().next() slow; its cost
    // is measured in bench, here only that every eviction takes the key written 100,000 before.
    const lru = new Lru<number, number>(100_000);
    // After each write past the bound, the oldest kept is the key written 100,000 before the newest.
    let outOfTurn = 0;
    for (let i = 0; i < 300_000; i++) {
      lru.set(i, i);
      if (i >= 100_000 && lru.oldest() !== i - 99_999) outOfTurn++;
    }
    expect(outOfTurn).toBe(0);
    expect(lru.size).toBe(100_000);
    expect(lru.oldest()).toBe(200_000);
  });
});
