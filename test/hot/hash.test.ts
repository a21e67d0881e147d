// The cache-key hash: XXH64 (seed 0) of the key's UTF-8 bytes, on all three implementations.
import { describe, expect, it } from 'vitest';
import { hashKey, hashKeyInto } from '../../core/hot/index.ts';
import { describeSkippedBuilds, loadImpls } from './_impls.ts';

const impls = await loadImpls();

// Reference values of XXH64 with seed 0 (xxHash's own test suite and the python-xxhash docs).
const VECTORS: [string, string][] = [
  ['', 'ef46db3751d8e999'],
  ['a', 'd24ec4f1a98c6e5b'],
  ['abc', '44bc2cf5ad770999'],
  ['Nobody inspects the spammish repetition', 'fbcea83c8a378bf1'],
];

describe.each(impls.map((impl) => [impl.name, impl] as const))('hashKey on %s', (_name, impl) => {
  it.each(VECTORS)('hashes %j to the XXH64 reference value', (key, hex) => {
    expect(hashKey(impl.hot, key)).toBe(hex);
  });

  it('gives the same words through hashKeyInto', () => {
    const out = hashKeyInto(impl.hot, 'abc', new Uint32Array(2));
    expect([out[1]!.toString(16), out[0]!.toString(16)]).toEqual(['44bc2cf5', 'ad770999']);
  });

  it('hashes the UTF-8 bytes of non-ASCII keys', () => {
    expect(hashKey(impl.hot, 'é')).toBe(hashKey(impl.hot, '\u00e9'));
    expect(hashKey(impl.hot, 'é')).not.toBe(hashKey(impl.hot, 'e\u0301'));
  });

  it('separates keys that differ in one byte, including long ones', () => {
    const long = 'k'.repeat(100_000);
    expect(hashKey(impl.hot, long)).toMatch(/^[0-9a-f]{16}$/);
    expect(hashKey(impl.hot, long)).not.toBe(hashKey(impl.hot, long + 'x'));
    expect(hashKey(impl.hot, 'GET /a')).not.toBe(hashKey(impl.hot, 'GET /b'));
  });

  it('hashes keys that start at any byte offset (a host right before its path)', () => {
    const key = new TextEncoder().encode('Nobody inspects the spammish repetition');
    const base = impl.hot.reserve(key.length + 16);
    for (let offset = 0; offset < 8; offset++) {
      new Uint8Array(impl.hot.memory.buffer).set(key, base + offset);
      impl.hot.hash64(base + offset, key.length, 0, 0);
      const out = new Uint32Array(impl.hot.memory.buffer, impl.hot.hashOutPtr(), 2);
      expect(out[1]!.toString(16).padStart(8, '0') + out[0]!.toString(16).padStart(8, '0')).toBe('fbcea83c8a378bf1');
    }
  });
});

describeSkippedBuilds('hashKey');
