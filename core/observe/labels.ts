/**
 * The fixed words that metric labels, span attributes and access-log fields are made of. A fact
 * read from `exchange.logFields` (written by whichever policy or step decided it) is mapped here
 * to one of a few known values, or to `other`: nothing a client sends can become a label.
 */
import type { CompiledConfig } from '../config/compile.ts';

export const OTHER = 'other';
/** A request no route took (bad path, no route, wrong method), as the `route` label. */
export const NO_ROUTE = '_unmatched';
/** Where a request never reached an origin (refused, cache hit), as the `region` and `origin` labels. */
export const NONE = 'none';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

/** The method as a label: one of the standard methods, else `other` (methods are client text). */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : OTHER;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** `2xx`, `4xx`...: the status class, the only form of the status a label holds. */
export function statusClass(status: number): string {
  return STATUS_CLASSES[Math.floor(status / 100) - 1] ?? OTHER;
}

/** Cache-Status outcomes (RFC 9211 in spirit), as the cache step records them in `logFields.cache`. */
export const CACHE_STATUSES = new Set(['hit', 'stale', 'miss', 'revalidated', 'bypass', 'uncacheable']);

/** Outcomes of one origin attempt, as the upstream step records them in `logFields.attempts`. */
export const ATTEMPT_OUTCOMES = new Set(['ok', 'status', 'connect', 'timeout', 'shed', 'open']);

export const BREAKER_STATES = new Set(['closed', 'half-open', 'open']);

/** A value that must be one of `known`, else `other`; `none` when absent. */
export function oneOf(value: unknown, known: ReadonlySet<string>): string {
  if (value === undefined || value === null) return NONE;
  return typeof value === 'string' && known.has(value) ? value : OTHER;
}

/** One origin attempt, as read from `logFields.attempts` (shape of the common annotations). */
export interface Attempt {
  origin: string;
  region: string;
  outcome: string;
  status?: number;
  ms: number;
  /** When it began (epoch milliseconds), as the upstream step took it at the call. */
  startMs?: number;
}

/** Names from the config: the only free text a label may carry. */
export interface ConfigNames {
  origins: ReadonlySet<string>;
  regions: ReadonlySet<string>;
}

export function configNames(config: CompiledConfig): ConfigNames {
  const origins = Object.values(config.origins);
  return { origins: new Set(origins.map((o) => o.name)), regions: new Set(origins.map((o) => o.region)) };
}

/**
 * The attempts of a request, from `logFields.attempts` when the upstream step recorded them, else
 * the one origin it names in `logFields.origin`. Origin and region names not in the config
 * become `other`; the outcome one of ATTEMPT_OUTCOMES.
 */
export function attemptsOf(fields: Record<string, unknown>, names: ConfigNames, status: number): Attempt[] {
  const raw = fields['attempts'];
  if (Array.isArray(raw)) {
    const out: Attempt[] = [];
    for (const a of raw) {
      if (!a || typeof a !== 'object') continue;
      const r = a as Record<string, unknown>;
      const attempt: Attempt = {
        origin: oneOf(r['origin'], names.origins),
        region: oneOf(r['region'], names.regions),
        outcome: oneOf(r['outcome'], ATTEMPT_OUTCOMES),
        ms: typeof r['ms'] === 'number' && Number.isFinite(r['ms']) ? r['ms'] : 0,
      };
      if (typeof r['status'] === 'number' && Number.isInteger(r['status'])) attempt.status = r['status'];
      if (typeof r['startMs'] === 'number' && Number.isFinite(r['startMs'])) attempt.startMs = r['startMs'];
      out.push(attempt);
    }
    return out;
  }
  if (fields['origin'] === undefined) return [];
  // Without per-attempt records: the origin that answered (or was tried last), its outcome told
  // by the request's own result.
  const code = fields['code'];
  const outcome =
    code === 'ERR_UPSTREAM_TIMEOUT'
      ? 'timeout'
      : code === 'ERR_UPSTREAM_UNREACHABLE'
        ? 'connect'
        : status >= 500
          ? 'status'
          : 'ok';
  return [
    {
      origin: oneOf(fields['origin'], names.origins),
      region: oneOf(fields['region'], names.regions),
      outcome,
      status: code === undefined || status < 500 ? status : undefined,
      ms: -1,
    },
  ];
}

/** What an auth refusal's problem code says, as the `result` label. */
const AUTH_RESULTS: Record<string, string> = {
  ERR_AUTH_MISSING: 'missing',
  ERR_AUTH_INVALID: 'invalid',
  ERR_TOKEN_REVOKED: 'revoked',
  ERR_INSUFFICIENT_SCOPE: 'scope',
  ERR_API_KEY_MISSING: 'missing',
  ERR_API_KEY_INVALID: 'invalid',
  ERR_API_KEY_UNAVAILABLE: 'unavailable',
};

/** The auth result of a request on a route with an auth policy: `ok`, or why it was refused. */
export function authResult(fields: Record<string, unknown>): string {
  const code = fields['code'];
  if (typeof code === 'string' && AUTH_RESULTS[code] !== undefined) return AUTH_RESULTS[code] as string;
  return 'ok';
}
