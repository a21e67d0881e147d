/**
 * Path normalization, done once per request before matching. Routing and forwarding both use the
 * result, so the origin receives exactly the path that was matched.
 *
 * Policy (documented in the README):
 * 1. Percent-encoded unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~") are decoded and
 *    the hex digits of every other escape are upper-cased (RFC 3986 §6.2.2.1–2).
 * 2. Dot segments are removed (RFC 3986 §5.2.4), including ones spelled `%2e`; `..` never climbs
 *    above the root.
 * 3. Runs of slashes collapse into one.
 * 4. Rejected with 400, because an origin could read them differently from us:
 *    - an encoded slash or backslash (`%2F`, `%5C`);
 *    - double encoding: `%25` followed by two hex digits (`%252e` is `%2e` to an origin that
 *      decodes twice);
 *    - an encoded or raw control character (`%00`–`%1F`, `%7F`);
 *    - a malformed escape (`%zz`, a lone `%`);
 *    - a semicolon, raw or encoded (`;`, `%3B`): servlet containers and others strip `;params`
 *      from segments, so `/admin;x` or `/..;/admin` would reach a different resource at the
 *      origin than the one we matched (the same default as Spring Security's firewall);
 *    - a path that is not origin-form (does not start with `/`), or longer than 8 KiB.
 */

/** Largest path accepted, in characters. */
export const MAX_PATH_LENGTH = 8192;

export type NormalizeResult = { ok: true; path: string } | { ok: false; reason: string };

const HEX = '0123456789ABCDEF';

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

function isUnreserved(code: number): boolean {
  return (
    (code >= 65 && code <= 90) || // A-Z
    (code >= 97 && code <= 122) || // a-z
    (code >= 48 && code <= 57) || // 0-9
    code === 45 || // -
    code === 46 || // .
    code === 95 || // _
    code === 126 // ~
  );
}

/**
 * Normalizes the path of a request URL (`url.pathname`, still percent-encoded).
 * @example normalizePath('/a//b/./%7euser/../c') // { ok: true, path: '/a/b/c' }
 */
export function normalizePath(raw: string): NormalizeResult {
  if (raw.length === 0 || raw.charCodeAt(0) !== 47) return { ok: false, reason: 'the path must start with "/"' };
  if (raw.length > MAX_PATH_LENGTH) return { ok: false, reason: `the path is longer than ${MAX_PATH_LENGTH} characters` };
  // Most paths are normal already: given back as they are, without building them anew.
  return isNormal(raw) ? { ok: true, path: raw } : normalizeBySegments(raw);
}

/**
 * Whether `raw` (starting with "/") is its own normal form: no escape, no character that is
 * refused, no empty segment but a trailing one, and no dot segment. What normalizeBySegments
 * gives back for such a path is the path itself (test/http/normalize.test.ts checks that the
 * two agree).
 */
function isNormal(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code === 47) {
      const next = i + 1 < raw.length ? raw.charCodeAt(i + 1) : -1;
      if (next === 47) return false;
      if (next === 46) {
        // "/." or "/.." ending the path or followed by "/".
        const after = i + 2 < raw.length ? raw.charCodeAt(i + 2) : 47;
        if (after === 47) return false;
        if (after === 46 && (i + 3 >= raw.length || raw.charCodeAt(i + 3) === 47)) return false;
      }
    } else if (code < 0x20 || code === 0x7f || code === 92 || code === 59 || code === 37) return false;
  }
  return true;
}

/** normalizePath for a path that is not normal already (rejected, or rebuilt segment by segment). */
export function normalizeBySegments(raw: string): NormalizeResult {
  const out: string[] = [];
  let segment = '';
  // Walk the path once: decode escapes per policy, split on raw "/" only.
  const flush = (last: boolean): void => {
    if (segment === '..') out.pop();
    if (segment === '.' || segment === '..') {
      // A trailing dot segment leaves a trailing slash (RFC 3986 §5.2.4: "/a/b/.." is "/a/").
      if (last) out.push('');
    } else if (segment.length > 0 || last) out.push(segment);
    segment = '';
  };

  for (let i = 1; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code === 47) {
      flush(false);
      continue;
    }
    if (code < 0x20 || code === 0x7f) return { ok: false, reason: 'the path contains a control character' };
    if (code === 92) return { ok: false, reason: 'the path contains a backslash' };
    if (code === 59) return { ok: false, reason: 'the path contains a semicolon (path parameters are ambiguous)' };
    if (code !== 37) {
      segment += raw[i];
      continue;
    }
    const hi = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1;
    const lo = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 2)) : -1;
    if (hi < 0 || lo < 0) return { ok: false, reason: 'the path contains a malformed percent-escape' };
    const byte = hi * 16 + lo;
    i += 2;
    if (byte === 0x2f || byte === 0x5c) return { ok: false, reason: 'the path contains an encoded slash or backslash' };
    if (byte < 0x20 || byte === 0x7f) return { ok: false, reason: 'the path contains an encoded control character' };
    if (byte === 0x3b) return { ok: false, reason: 'the path contains a semicolon (path parameters are ambiguous)' };
    if (byte === 0x25) {
      const h2 = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1;
      const l2 = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 2)) : -1;
      if (h2 >= 0 && l2 >= 0) return { ok: false, reason: 'the path is percent-encoded twice' };
    }
    if (isUnreserved(byte)) segment += String.fromCharCode(byte);
    else segment += '%' + HEX[hi] + HEX[lo];
  }
  flush(true);
  return { ok: true, path: '/' + out.join('/') };
}
