/**
 * The three forms of an allowed origin, checked at compile time and matched per request without
 * parsing anything:
 * - exact: `https://app.example.com`, compared as a string with the Origin header, which browsers
 *   send serialized (RFC 6454 §6.2: lower-case scheme and host, no default port, no path);
 * - wildcard: `https://*.example.com` (optionally with a port), any subdomain at any depth
 *   (`a.example.com`, `a.b.example.com`) and never the apex `example.com`, the same rule as the
 *   route `hosts` field;
 * - regex: `{ "regex": "https://pr-[0-9]+\\.preview\\.example\\.com" }`, always a full match (it
 *   is compiled as `^(?:…)$`), case-sensitive, no flags. Patterns that can backtrack without bound
 *   are refused (see `unsafeRegexReason`), and an Origin longer than `MAX_ORIGIN_LENGTH` is never
 *   tested, so one request costs a bounded, small amount of regex work.
 */
import type { ConfigIssue } from '../../errors.ts';

/** Longer Origin headers are refused without matching: no real origin is that long (DNS names are ≤ 253). */
export const MAX_ORIGIN_LENGTH = 300;

/** A host as it appears in a serialized origin: DNS labels or a bracketed IPv6 address. */
const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::[0-9]{1,5})?$/;
/** What a wildcard's `*` may stand for: one or more DNS labels. */
const LABELS = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;
const SCHEME = /^[a-z][a-z0-9+.-]*$/;

export interface CompiledOrigins {
  /** `origins: "*"`: every origin, answered with `Access-Control-Allow-Origin: *`. */
  any: boolean;
  exact: string[];
  /** `https://*.example.com` is `{ prefix: "https://", suffix: ".example.com" }`. */
  wildcards: { prefix: string; suffix: string }[];
  /** Sources, already wrapped as `^(?:…)$`. */
  regexes: string[];
}

export type OriginEntry = string | { regex: string };

/** Splits `scheme://rest`; null when there is no `://`. */
function splitOrigin(text: string): { scheme: string; rest: string } | null {
  const i = text.indexOf('://');
  if (i <= 0) return null;
  return { scheme: text.slice(0, i), rest: text.slice(i + 3) };
}

/** The serialized form of an http(s) origin, when `text` parses as one. */
function serialized(text: string): string | null {
  try {
    const origin = new URL(text).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

function checkExact(text: string, at: string, issues: ConfigIssue[]): boolean {
  const parts = splitOrigin(text);
  const ok = parts !== null && SCHEME.test(parts.scheme) && HOST.test(parts.rest);
  const canonical = parts && (parts.scheme === 'http' || parts.scheme === 'https') ? serialized(text) : null;
  if (ok && (canonical === null || canonical === text)) return true;
  const hint = canonical !== null && canonical !== text ? `; write ${JSON.stringify(canonical)}` : '';
  issues.push({
    path: at,
    message: `expected an origin as browsers send it (scheme://host[:port], lower-case, no default port, no path or trailing slash), got ${JSON.stringify(text)}${hint}`,
  });
  return false;
}

function checkWildcard(text: string, at: string, issues: ConfigIssue[]): { prefix: string; suffix: string } | null {
  const parts = splitOrigin(text);
  const rest = parts?.rest ?? '';
  const base = rest.slice(2);
  const fail = (why: string): null => {
    issues.push({ path: at, message: `${why}, got ${JSON.stringify(text)}` });
    return null;
  };
  if (!parts || !SCHEME.test(parts.scheme) || !rest.startsWith('*.') || base.includes('*')) {
    return fail(
      'expected "*" only as the whole leftmost label, as in https://*.example.com (use { "regex": ... } for other patterns)',
    );
  }
  if (!HOST.test(base) || base.startsWith('[')) return fail('expected a host name after "*.", in lower case');
  if (!base.split(':')[0]?.includes('.'))
    return fail('expected at least two labels after "*." (https://*.com would allow every .com site)');
  return { prefix: `${parts.scheme}://`, suffix: `.${base}` };
}

/**
 * Why a regex is refused, or null when it is accepted. A repeating quantifier (`*`, `+`, `{n,}`,
 * `{n,m}`) must not apply to a group that contains a quantifier or an alternation, at any depth:
 * `(a+)+`, `(a|a)*` and `((a+)b)*` are the shapes that backtrack exponentially. Backreferences are
 * refused too. Deliberately simple and strict: the wildcard form covers "any subdomain".
 */
export function unsafeRegexReason(source: string): string | null {
  // One flag per open group: whether it holds a quantifier or a "|" (directly or in a subgroup).
  const risky: boolean[] = [false];
  // The flag of the group that closed just before this character; null after anything else.
  let closed: boolean | null = null;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if ((next >= '1' && next <= '9') || next === 'k') return 'backreferences are not allowed';
      i++;
      closed = null;
      continue;
    }
    if (c === '[') {
      // A character class is one atom; `]` first in it is literal.
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      i = j;
      closed = null;
      continue;
    }
    if (c === '(') {
      risky.push(false);
      // Skip a group's kind marker: `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?<name>`.
      if (source[i + 1] === '?') {
        const k = source[i + 2];
        if (k === '<' && source[i + 3] !== '=' && source[i + 3] !== '!') i = Math.max(i, source.indexOf('>', i));
        else i += k === '<' ? 3 : 2;
      }
      closed = null;
      continue;
    }
    if (c === ')') {
      // An unmatched ")" would close the `^(?:` wrapper early and unanchor the rest.
      if (risky.length === 1) return 'unbalanced ")"';
      closed = risky.pop() as boolean;
      if (closed) risky[risky.length - 1] = true;
      continue;
    }
    if (c === '|') {
      risky[risky.length - 1] = true;
      closed = null;
      continue;
    }
    const braces = c === '{' ? /^\{(\d+)(,\d*)?\}/.exec(source.slice(i)) : null;
    if (c === '*' || c === '+' || c === '?' || braces) {
      const repeats = c === '*' || c === '+' || (braces !== null && braces[2] !== undefined);
      if (repeats && closed) return 'a repeated group may not contain a quantifier or "|" (it can backtrack exponentially)';
      risky[risky.length - 1] = true;
      if (braces) i += braces[0].length - 1;
      // A lazy marker after a quantifier is part of it.
      if (source[i + 1] === '?') i++;
      closed = null;
      continue;
    }
    closed = null;
  }
  return null;
}

/** Checks every entry of `origins` and sorts them by form. */
export function compileOrigins(
  origins: '*' | readonly OriginEntry[],
  at: string,
  issues: ConfigIssue[],
): CompiledOrigins | undefined {
  if (origins === '*') return { any: true, exact: [], wildcards: [], regexes: [] };
  const out: CompiledOrigins = { any: false, exact: [], wildcards: [], regexes: [] };
  const before = issues.length;
  origins.forEach((entry, i) => {
    const where = `${at}[${i}]`;
    if (typeof entry !== 'string') {
      const reason = unsafeRegexReason(entry.regex);
      if (reason) {
        issues.push({ path: `${where}.regex`, message: `unsafe regular expression: ${reason}` });
        return;
      }
      const source = `^(?:${entry.regex})$`;
      try {
        new RegExp(source);
      } catch (e) {
        issues.push({ path: `${where}.regex`, message: `expected a valid regular expression: ${(e as Error).message}` });
        return;
      }
      out.regexes.push(source);
      return;
    }
    if (entry === '*') {
      issues.push({ path: where, message: 'expected "*" alone, as origins: "*" (it allows every origin)' });
      return;
    }
    if (entry === 'null') {
      issues.push({
        path: where,
        message: 'the "null" origin cannot be allowed: sandboxed iframes, file: pages and redirects send it, so any site can',
      });
      return;
    }
    if (entry.includes('*')) {
      const w = checkWildcard(entry, where, issues);
      if (w) out.wildcards.push(w);
      return;
    }
    if (checkExact(entry, where, issues)) out.exact.push(entry);
  });
  return issues.length > before ? undefined : out;
}

/** The per-request test, built once per route from the compiled origins. */
export function createOriginTest(compiled: CompiledOrigins): (origin: string) => boolean {
  if (compiled.any) return () => true;
  const exact = new Set(compiled.exact);
  const wildcards = compiled.wildcards;
  const regexes = compiled.regexes.map((s) => new RegExp(s));
  return (origin) => {
    if (exact.has(origin)) return true;
    if (origin.length > MAX_ORIGIN_LENGTH) return false;
    for (const { prefix, suffix } of wildcards) {
      if (
        origin.length > prefix.length + suffix.length &&
        origin.startsWith(prefix) &&
        origin.endsWith(suffix) &&
        LABELS.test(origin.slice(prefix.length, origin.length - suffix.length))
      ) {
        return true;
      }
    }
    for (const re of regexes) if (re.test(origin)) return true;
    return false;
  };
}
