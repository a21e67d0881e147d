/**
 * What a shared cache may do with an origin response (RFC 9111 §3, §4.2): whether it may be
 * stored, for how long it is fresh, how old it already is, and when it may be served stale.
 * Pure functions of the headers, the clock readings and the route's settings.
 */
import type { CompiledCache } from './compile.ts';
import { ageSeconds, deltaSeconds, type Directives, httpDate, parseCdnCacheControl, parseDirectives } from './directives.ts';

/**
 * Statuses that are heuristically cacheable (RFC 9110 §15.1): storable without explicit
 * freshness, given heuristic or default freshness.
 */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/**
 * Final statuses this cache understands. RFC 9111 §3 asks for understanding only of 206, 304 and
 * responses with `must-understand`; any other final status may be stored given explicit
 * freshness (a 299 with max-age, say). 206 and 304 are never stored here: ranges are answered
 * from full entries, and a 304 is a validation answer.
 */
const UNDERSTOOD = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412,
  413, 414, 415, 416, 417, 421, 422, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 511,
]);

/** Heuristic freshness: 10% of the time since Last-Modified (RFC 9111 §4.2.2), at most a day. */
const HEURISTIC_FRACTION = 0.1;
const HEURISTIC_MAX_SECONDS = 86_400;
/** How long an entry that can be validated is kept beyond its freshness, at most. */
const VALIDATABLE_KEEP_SECONDS = 86_400;
/** How long any entry is kept past its freshness (for a client's max-stale, and Cache-Status `fwd=stale`). */
const STALE_GRACE_SECONDS = 60;

/** The facts about a stored response that its reuse needs (kept in the entry's metadata). */
export interface Freshness {
  /** Freshness lifetime in seconds. */
  life: number;
  /** corrected_initial_age (RFC 9111 §4.2.3), seconds. */
  age0: number;
  /** Seconds it may be served stale while one request refreshes it. */
  swr: number;
  /** Seconds it may be served stale when the origin fails. */
  sie: number;
  /**
   * A client's max-stale never gets it stale (must-revalidate, proxy-revalidate, s-maxage); the
   * stale windows above are already zero where stale service is forbidden outright.
   */
  revalidate: boolean;
  /** Validated on every reuse (no-cache). */
  noCache: boolean;
  /** Seconds the store should keep it. */
  keep: number;
}

export type StoreDecision =
  | { store: true; freshness: Freshness; directives: Directives }
  | { store: false; reason: 'no-store' | 'private' | 'authorization' | 'vary-star' | 'status' | 'uncacheable' | 'set-cookie' };

/**
 * The directives this cache obeys for a response: `CDN-Cache-Control` when present (RFC 9213
 * §2.1: a CDN cache that honours it ignores Cache-Control), else Cache-Control, with
 * Surrogate-Control's `max-age` and `no-store` taking precedence over Cache-Control's.
 */
export function responseDirectives(headers: Headers): { d: Directives; surrogate: Directives; cdn: boolean } {
  const cdn = parseCdnCacheControl(headers.get('cdn-cache-control'));
  const surrogate = parseDirectives(headers.get('surrogate-control'));
  if (cdn !== null && cdn.size > 0) return { d: cdn, surrogate, cdn: true };
  return { d: parseDirectives(headers.get('cache-control')), surrogate, cdn: false };
}

/**
 * Decides whether a response to a GET may be stored and how fresh it is.
 * @param requestTime when the request went to the origin (ms since the epoch)
 * @param responseTime when its response arrived (ms since the epoch)
 */
export function decideStore(
  status: number,
  headers: Headers,
  requestHasAuthorization: boolean,
  settings: Pick<CompiledCache, 'ttl' | 'defaultTtl' | 'staleWhileRevalidate' | 'staleIfError'>,
  requestTime: number,
  responseTime: number,
): StoreDecision {
  if (status < 200 || status === 206 || status === 304) return { store: false, reason: 'status' };
  const { d, surrogate, cdn } = responseDirectives(headers);
  // must-understand (§5.2.2.3): stored only when the status is understood, and then its
  // no-store (there for caches that do not know must-understand) is ignored.
  const mustUnderstand = d.has('must-understand');
  if (mustUnderstand && !UNDERSTOOD.has(status)) return { store: false, reason: 'status' };
  if ((d.has('no-store') && !mustUnderstand) || (!cdn && surrogate.has('no-store'))) return { store: false, reason: 'no-store' };
  // A shared cache never stores a private response, qualified or not (§5.2.2.7: treating the
  // qualified form as unqualified is the safe reading for a shared cache).
  if (d.has('private')) return { store: false, reason: 'private' };
  // §3.5: a response to a request with Authorization is stored only when the response says so.
  if (requestHasAuthorization && !d.has('public') && !d.has('s-maxage') && !d.has('must-revalidate')) {
    return { store: false, reason: 'authorization' };
  }
  const vary = headers.get('vary');
  if (vary?.split(',').some((v) => v.trim() === '*')) return { store: false, reason: 'vary-star' };
  // A Set-Cookie is one client's; only an origin that marks the response shared gets it stored.
  if (headers.has('set-cookie') && !d.has('public') && !d.has('s-maxage')) return { store: false, reason: 'set-cookie' };

  const date = httpDate(headers.get('date'));
  const dateValue = Number.isNaN(date) ? responseTime : date;
  let life: number | undefined;
  let explicit = true;
  if (settings.ttl !== null) life = settings.ttl;
  else {
    life = deltaSeconds(d, 's-maxage') ?? deltaSeconds(d, 'max-age');
    if (!cdn) {
      const s = deltaSeconds(surrogate, 'max-age');
      if (s !== undefined) life = s;
    }
    if (life === undefined) {
      const expires = headers.get('expires');
      if (expires !== null) {
        const e = httpDate(expires);
        // An invalid Expires (such as "0") means already expired (§5.3).
        life = Number.isNaN(e) ? 0 : Math.max(0, (e - dateValue) / 1000);
      }
    }
    if (life === undefined) {
      explicit = false;
      if (!HEURISTIC_STATUSES.has(status) && !d.has('public')) return { store: false, reason: 'uncacheable' };
      if (settings.defaultTtl !== null) life = settings.defaultTtl;
      else {
        const lastModified = httpDate(headers.get('last-modified'));
        life = Number.isNaN(lastModified)
          ? 0
          : Math.min(HEURISTIC_MAX_SECONDS, Math.max(0, ((dateValue - lastModified) / 1000) * HEURISTIC_FRACTION));
      }
    }
  }
  const validatable = headers.has('etag') || headers.has('last-modified');
  if (life <= 0 && !validatable && !explicit) return { store: false, reason: 'uncacheable' };

  // Age (§4.2.3).
  const apparentAge = Math.max(0, (responseTime - dateValue) / 1000);
  const ageValue = ageSeconds(headers.get('age'));
  const correctedAgeValue = ageValue + (responseTime - requestTime) / 1000;
  const age0 = Math.max(apparentAge, correctedAgeValue);

  const strict = d.has('must-revalidate') || d.has('proxy-revalidate');
  const ownSwr = deltaSeconds(d, 'stale-while-revalidate');
  const ownSie = deltaSeconds(d, 'stale-if-error');
  // s-maxage carries proxy-revalidate's meaning (§5.2.2.10): only the origin's own stale
  // directives, beside it in the same field, permit stale service then; the route's windows do not.
  const sMaxAge = d.has('s-maxage');
  const swr = strict ? 0 : (ownSwr ?? (sMaxAge ? 0 : settings.staleWhileRevalidate));
  const sie = strict ? 0 : (ownSie ?? (sMaxAge ? 0 : settings.staleIfError));
  const noCache = d.has('no-cache');
  const keepBeyond = Math.max(
    swr,
    sie,
    STALE_GRACE_SECONDS,
    validatable ? Math.min(Math.max(life, 60), VALIDATABLE_KEEP_SECONDS) : 0,
  );
  const keep = Math.ceil(life + keepBeyond - age0);
  if (keep <= 0) return { store: false, reason: 'uncacheable' };
  return {
    store: true,
    directives: d,
    freshness: { life, age0, swr, sie, revalidate: strict || sMaxAge, noCache, keep },
  };
}

/** current_age (RFC 9111 §4.2.3) in seconds. */
export function currentAge(f: Pick<Freshness, 'age0'>, responseTime: number, now: number): number {
  return f.age0 + Math.max(0, now - responseTime) / 1000;
}
