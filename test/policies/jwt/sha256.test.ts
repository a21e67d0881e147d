import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Ascii } from '../../../core/policies/jwt/sha256.ts';

describe('sha256Ascii (the verified-token cache key)', () => {
  it('equals node:crypto SHA-256 on every length from 0 to 300 and on random tokens up to 8 KiB', () => {
    for (let n = 0; n <= 300; n++) {
      const text = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.'.repeat(5).slice(0, n);
      expect(sha256Ascii(text), `length ${n}`).toBe(createHash('sha256').update(text, 'latin1').digest('hex'));
    }
    for (let i = 0; i < 200; i++) {
      const text = randomBytes(Math.floor(Math.random() * 6144)).toString('base64url');
      expect(sha256Ascii(text)).toBe(createHash('sha256').update(text).digest('hex'));
    }
  });
});
