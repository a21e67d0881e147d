import { describe, expect, it } from 'vitest';
import { normalizeBySegments, normalizePath } from '../../core/http/normalize.ts';

/** What `new URL()` (WHATWG, as every runtime's Request) leaves in pathname, then our policy. */
function normalizeUrl(raw: string) {
  return normalizePath(new URL(raw, 'http://gw.test').pathname);
}

describe('normalizePath', () => {
  it.each([
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['/a//b///c', '/a/b/c'],
    ['//a', '/a'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/../../a', '/a'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/%7Euser/%41%62c', '/~user/Abc'],
    ['/a%2db', '/a-b'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/x%3ay', '/x%3Ay'],
    ['/%2e%2e/admin', '/admin'],
    ['/api/%2E%2E/admin', '/admin'],
    ['/api/.%2e/admin', '/admin'],
    ['/a/%2e/b', '/a/b'],
    ['/file..txt', '/file..txt'],
    ['/...', '/...'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(normalizePath(input)).toEqual({ ok: true, path: expected });
  });

  it.each([
    ['/api%2F..%2Fadmin', 'encoded slash'],
    ['/api%2f..%2fadmin', 'encoded slash'],
    ['/api/%5C../admin', 'encoded slash or backslash'],
    ['/api/%252e%252e/admin', 'percent-encoded twice'],
    ['/api/%252F', 'percent-encoded twice'],
    ['/a%00b', 'control character'],
    ['/a%0d%0aSet-Cookie:x', 'control character'],
    ['/a%7f', 'control character'],
    ['/a%zz', 'malformed'],
    ['/a%', 'malformed'],
    ['/a%4', 'malformed'],
    ['/..;/admin', 'semicolon'],
    ['/api/.;x/admin', 'semicolon'],
    ['/admin;jsessionid=1', 'semicolon'],
    ['/admin%3bx', 'semicolon'],
    ['/a\\b', 'backslash'],
    ['a/b', 'start with'],
    ['', 'start with'],
  ])('rejects %s (%s)', (input, reason) => {
    const r = normalizePath(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('rejects paths longer than 8 KiB', () => {
    expect(normalizePath('/' + 'a'.repeat(9000)).ok).toBe(false);
  });

  it('is idempotent: a normalized path normalizes to itself', () => {
    for (const p of ['/a/b/', '/~user/Abc', '/caf%C3%A9', '/x%3Ay', '/100%25']) {
      const once = normalizePath(p);
      expect(once.ok).toBe(true);
      if (once.ok) expect(normalizePath(once.path)).toEqual(once);
    }
  });

  it('agrees with the WHATWG URL parser on what reaches it from a Request', () => {
    expect(normalizeUrl('/api/../admin')).toEqual({ ok: true, path: '/admin' });
    expect(normalizeUrl('/%2e%2e/admin')).toEqual({ ok: true, path: '/admin' });
    expect(normalizeUrl('/api/%2e%2E/admin')).toEqual({ ok: true, path: '/admin' });
    expect(normalizeUrl('/api\\..\\admin')).toEqual({ ok: true, path: '/admin' });
    expect(normalizeUrl('/api/%252e%252e/admin').ok).toBe(false);
    expect(normalizeUrl('/api%2F..%2Fadmin').ok).toBe(false);
  });
  it('gives back a path that is normal already as it is, and every other path as the segment walk does', () => {
    // Pieces that make dot segments, empty segments, escapes and refused characters in any order.
    const pieces = ['/', '/', 'a', 'B', '.', '..', '%2e', '%41', '%7e', '%2F', '%25', '%', '~', ';', '\\', '\u0001', 'é', '-_'];
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let unchanged = 0;
    for (let k = 0; k < 20_000; k++) {
      let path = '/';
      for (let n = next(7); n > 0; n--) path += pieces[next(pieces.length)];
      const got = normalizePath(path);
      expect(got, path).toEqual(normalizeBySegments(path));
      if (got.ok && got.path === path) unchanged++;
    }
    // Both kinds were drawn: paths returned as they are, and paths rebuilt or refused.
    expect(unchanged).toBeGreaterThan(1000);
    expect(unchanged).toBeLessThan(19_000);
  });
});
