import { describe, expect, it } from 'vitest';
import { newRequestId } from '../../core/http/request-id.ts';
import { requestIdFrom } from '../../core/http/headers.ts';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newRequestId', () => {
  it('gives version 4 UUIDs, all different, past several refills of its pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newRequestId();
      expect(id).toMatch(V4);
      seen.add(id);
    }
    expect(seen.size).toBe(5000);
  });

  it('spreads its random digits evenly (each hex digit of the random positions near 1/16)', () => {
    const counts = new Array(16).fill(0);
    const n = 4000;
    for (let i = 0; i < n; i++) {
      // The first 8 characters are all random.
      for (const c of newRequestId().slice(0, 8)) counts[Number.parseInt(c, 16)]++;
    }
    const expected = (8 * n) / 16;
    for (const c of counts) expect(Math.abs(c - expected) / expected).toBeLessThan(0.1);
  });

  it('is what requestIdFrom answers when the client sent no usable id', () => {
    expect(requestIdFrom(new Headers())).toMatch(V4);
    expect(requestIdFrom(new Headers({ 'x-request-id': 'bad id with spaces' }))).toMatch(V4);
    expect(requestIdFrom(new Headers({ 'x-request-id': 'abc-123' }))).toBe('abc-123');
  });
});
