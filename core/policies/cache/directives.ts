/**
 * Cache-Control parsing (RFC 9111 §5.2) and the fields a shared cache reads beside it:
 * `CDN-Cache-Control` (RFC 9213) and `Surrogate-Control` (the Edge Architecture note). Parsed
 * once per origin response and once per request; nothing here allocates on a hit beyond the
 * request's own directives.
 */

/** Directives by lower-case name: `true` for a bare directive, the (unquoted) text otherwise. */
export type Directives = Map<string, string | true>;

const EMPTY: Directives = new Map();

/**
 * Parses a Cache-Control-style field value. Directives are separated by commas outside quoted
 * strings; a repeated directive keeps its first value (RFC 9111 §4.2.1 says a cache treats
 * conflicting duplicates as stale, which `deltaSeconds` of a freshness directive does below).
 * @example parseDirectives('public, max-age=60') // Map { public → true, max-age → '60' }
 */
export function parseDirectives(value: string | null): Directives {
  if (value === null || value === '') return EMPTY;
  const out: Directives = new Map();
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value[i] === ',' || value[i] === ' ' || value[i] === '\t')) i++;
    let j = i;
    while (j < n && value[j] !== '=' && value[j] !== ',') j++;
    const name = value.slice(i, j).trim().toLowerCase();
    let arg: string | true = true;
    if (j < n && value[j] === '=') {
      j++;
      while (j < n && (value[j] === ' ' || value[j] === '\t')) j++;
      if (value[j] === '"') {
        let text = '';
        j++;
        while (j < n && value[j] !== '"') {
          if (value[j] === '\\' && j + 1 < n) j++;
          text += value[j];
          j++;
        }
        j++;
        arg = text;
        while (j < n && value[j] !== ',') j++;
      } else {
        const start = j;
        while (j < n && value[j] !== ',') j++;
        arg = value.slice(start, j).trim();
      }
    }
    if (name !== '' && !out.has(name)) out.set(name, arg);
    else if (name !== '' && (name === 'max-age' || name === 's-maxage') && out.get(name) !== arg) out.set(name, '0');
    i = j + 1;
  }
  return out;
}

/** The largest delta-seconds a cache keeps (RFC 9111 §1.2.2: 2^31). */
const MAX_DELTA = 2_147_483_648;

/**
 * A delta-seconds argument: a whole number of seconds, capped at 2^31; `0` for a value that is
 * not one (RFC 9111 §1.2.2 and §4.2.1: an invalid freshness value makes the response stale),
 * and `undefined` when the directive is absent.
 */
export function deltaSeconds(d: Directives, name: string): number | undefined {
  const arg = d.get(name);
  if (arg === undefined) return undefined;
  if (arg === true || !/^\d+$/.test(arg)) return 0;
  const n = Number(arg);
  return n > MAX_DELTA ? MAX_DELTA : n;
}

/** Parses an HTTP-date (RFC 9110 §5.6.7); NaN when it is not one. */
export function httpDate(value: string | null): number {
  if (value === null) return Number.NaN;
  return Date.parse(value);
}
