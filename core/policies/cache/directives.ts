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

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const LONG_DAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d\\d):(\\d\\d):(\\d\\d)';
/** `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate, the preferred form). */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d\\d) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete RFC 850 form). */
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d\\d)-${MONTH}-(\\d\\d) ${TIME} GMT$`, 'i');
/** `Sun Nov  6 08:49:37 1994` (obsolete asctime form). */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d\\d) ${TIME} (\\d{4})$`, 'i');

/** The last IMF-fixdate parsed, and its value. */
const lastFixdate = { text: '', ms: Number.NaN };

function utc(year: number, month: string, day: string, h: string, m: string, s: string): number {
  const mon = MONTHS.indexOf(month.toLowerCase());
  const d = Number(day);
  const [hh, mm, ss] = [Number(h), Number(m), Number(s)];
  if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) return Number.NaN;
  const t = Date.UTC(year, mon, d, hh, mm, Math.min(ss, 59));
  // 31 Feb and the like roll into the next month: not a date.
  return new Date(t).getUTCDate() === d ? t : Number.NaN;
}

/**
 * Parses an HTTP-date (RFC 9110 §5.6.7) in its three forms, strictly: anything else (a `UTC`
 * zone, dashes in an IMF-fixdate, a one-digit hour, doubled spaces) is not a date, and NaN is
 * returned. Names are matched without regard to case. A two-digit RFC 850 year more than 50
 * years ahead of `now` is read as the latest past year with those digits.
 * @example httpDate('Sun, 06 Nov 1994 08:49:37 GMT') // 784111777000
 */
export function httpDate(value: string | null, now?: number): number {
  if (value === null) return Number.NaN;
  // An origin's Date (and often Last-Modified) is the same text for a whole second of responses.
  if (value === lastFixdate.text) return lastFixdate.ms;
  const v = value.trim();
  let m = IMF_FIXDATE.exec(v);
  if (m) {
    const ms = utc(Number(m[3]), m[2] as string, m[1] as string, m[4] as string, m[5] as string, m[6] as string);
    // Only this form is remembered: its value does not depend on `now`.
    lastFixdate.text = value;
    lastFixdate.ms = ms;
    return ms;
  }
  m = RFC850_DATE.exec(v);
  if (m) {
    const thisYear = new Date(now ?? Date.now()).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2] as string, m[1] as string, m[4] as string, m[5] as string, m[6] as string);
  }
  m = ASCTIME_DATE.exec(v);
  if (m) return utc(Number(m[6]), m[1] as string, (m[2] as string).trim(), m[3] as string, m[4] as string, m[5] as string);
  return Number.NaN;
}

/**
 * The Age field's value in seconds (RFC 9111 §5.1): the first member of the (comma-joined)
 * field, when it is a non-negative integer; 0 when the field is absent or its first member is
 * not one (a float, a suffix), which a cache ignores.
 */
export function ageSeconds(value: string | null): number {
  if (value === null) return 0;
  const first = (value.split(',')[0] ?? '').trim();
  if (!/^\d+$/.test(first)) return 0;
  const n = Number(first);
  return n > MAX_DELTA ? MAX_DELTA : n;
}

/**
 * Parses `CDN-Cache-Control` (RFC 9213 §2), which is a Structured Field Dictionary (RFC 8941
 * §3.2): an invalid dictionary, or a freshness directive whose value is not an integer, makes
 * the whole field ignored (null), as RFC 9213 §2.1 asks. Parameters are checked and dropped.
 * @example parseCdnCacheControl('max-age=60, stale-if-error=30') // Map { max-age → '60', … }
 */
export function parseCdnCacheControl(value: string | null): Directives | null {
  if (value === null || value.trim() === '') return null;
  const out: Directives = new Map();
  let i = 0;
  const s = value;
  const n = s.length;
  const sp = () => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const key = (): string | null => {
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(s.slice(i));
    if (!m) return null;
    i += m[0].length;
    return m[0];
  };
  /** A bare item (RFC 8941 §3.3); its text, or null when it is not one. */
  const bareItem = (): { text: string; integer: boolean } | null => {
    const rest = s.slice(i);
    let m = /^-?\d{1,15}(\.\d{1,3})?(?![\d.])/.exec(rest);
    if (m) {
      i += m[0].length;
      return { text: m[0], integer: m[1] === undefined && !m[0].startsWith('-') };
    }
    m = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"/.exec(rest);
    if (m) {
      i += m[0].length;
      return { text: (m[1] as string).replace(/\\(["\\])/g, '$1'), integer: false };
    }
    m = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(rest) ?? /^:[A-Za-z0-9+/=]*:/.exec(rest) ?? /^\?[01]/.exec(rest);
    if (m) {
      i += m[0].length;
      return { text: m[0], integer: false };
    }
    return null;
  };
  const params = (): boolean => {
    while (s[i] === ';') {
      i++;
      sp();
      if (key() === null) return false;
      if (s[i] === '=') {
        i++;
        if (bareItem() === null) return false;
      }
    }
    return true;
  };
  sp();
  while (i < n) {
    const name = key();
    if (name === null) return null;
    let item: { text: string; integer: boolean } | true = true;
    if (s[i] === '=') {
      i++;
      const b = bareItem();
      if (b === null) return null;
      item = b;
    }
    if (!params()) return null;
    if (INTEGER_DIRECTIVES.has(name) && (item === true || !item.integer)) return null;
    // RFC 8941 §3.2: a repeated key keeps its last value.
    out.set(name, item === true ? true : item.text);
    sp();
    if (i >= n) break;
    if (s[i] !== ',') return null;
    i++;
    sp();
    if (i >= n) return null;
  }
  return out;
}

/** Directives whose value must be an integer in a Structured Field. */
const INTEGER_DIRECTIVES = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error']);
