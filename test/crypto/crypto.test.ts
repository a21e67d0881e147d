/** The byte helpers of core/crypto, against Node's own implementations as the oracle. */
import { createHash, timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64Url, fromHex, sha256, timingSafeEqual, toBase64Url, toHex } from '../../core/crypto/index.ts';
import { generateApiKey, hashApiKey, STORED_HASH } from '../../core/policies/api-key/index.ts';

describe('timingSafeEqual', () => {
  it('says equal for the same bytes and unequal for a difference in the first, a middle or the last byte', () => {
    const a = new Uint8Array(32).fill(7);
    expect(timingSafeEqual(a, a.slice())).toBe(true);
    for (const at of [0, 16, 31]) {
      const b = a.slice();
      b[at] = 8;
      expect(timingSafeEqual(a, b)).toBe(false);
    }
  });

  it('says unequal for inputs of different lengths, including a prefix', () => {
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it("agrees with node:crypto's timingSafeEqual on random inputs", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.uint8Array({ minLength: 0, maxLength: 40 }), (a, b) => {
        const n = Math.min(a.length, b.length);
        const x = a.subarray(0, n);
        const y = b.subarray(0, n);
        expect(timingSafeEqual(x, y)).toBe(nodeTimingSafeEqual(x, y));
        expect(timingSafeEqual(x, x.slice())).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('encodings', () => {
  it("round-trips hex and base64url, and matches Buffer's encodings", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(toHex(bytes)).toBe(Buffer.from(bytes).toString('hex'));
        expect(toBase64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
        expect(fromHex(toHex(bytes))).toEqual(bytes);
        expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses padded, standard-alphabet, whitespace and non-canonical base64url', () => {
    for (const text of ['QQ==', 'a+b/', 'QU E', 'QR', 'A']) expect(fromBase64Url(text)).toBeNull();
    expect(fromBase64Url('QQ')).toEqual(new Uint8Array([65]));
  });
});

describe('API key hashes', () => {
  it('hashes a key as sha256: and the hex SHA-256 of its UTF-8 bytes, as sha256sum prints it', async () => {
    const key = generateApiKey();
    expect(await hashApiKey(key)).toBe(`sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`);
    expect(await hashApiKey(key)).toMatch(STORED_HASH);
    expect(toHex(await sha256('é'))).toBe(createHash('sha256').update('é', 'utf8').digest('hex'));
  });

  it('makes keys of pk_ and 43 base64url characters (256 random bits), never the same twice', () => {
    const keys = new Set(Array.from({ length: 1000 }, generateApiKey));
    expect(keys.size).toBe(1000);
    for (const key of keys) expect(key).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
  });
});
