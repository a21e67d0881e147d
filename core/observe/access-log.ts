/**
 * The access-log record: one per request, built field by field from an allow-list, so a fact
 * that is not named here (a header, a token, a query string) cannot reach a log line by
 * accident. Strings are cut to MAX_TEXT characters; attempts keep config names only.
 */
import type { LogRecord } from '../capabilities.ts';
import type { Attempt } from './labels.ts';

const MAX_TEXT = 200;

/** `exchange.logFields` entries that the access log carries (the common annotations). */
const FIELDS = [
  'origin',
  'region',
  'clientRegion',
  'cache',
  'retries',
  'retryBudget',
  'breaker',
  'shed',
  'rateLimit',
  'auth',
  'issuer',
  'consumer',
  'sub',
  'code',
  'cause',
] as const;

function scalar(value: unknown): string | number | boolean | undefined {
  if (typeof value === 'string') return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value;
  return undefined;
}

export interface AccessFacts {
  /** ISO 8601 text, the record's first field. */
  time: string;
  level: LogRecord['level'];
  requestId: string;
  traceId: string | null;
  method: string;
  /** The normalized path (no query: it may hold keys). */
  path: string | null;
  route: string | null;
  status: number;
  /** Response bytes when the length is known (Content-Length), else null (streamed). */
  bytes: number | null;
  ms: number;
  fields: Record<string, unknown>;
  attempts: Attempt[];
  /** `allowed`, `limited`, `unavailable`, or null on a route without limits. */
  limit: string | null;
  /** The auth result on a route with an auth policy (`ok`, `missing`, `invalid`...), else null. */
  authResult: string | null;
  pop: string | null;
}

/** The record, in a fixed order: who, what, the decisions, the result. */
export function accessRecord(f: AccessFacts): LogRecord {
  const r: LogRecord = { time: f.time, level: f.level, msg: 'request', requestId: f.requestId };
  if (f.traceId !== null) r['traceId'] = f.traceId;
  r['method'] = f.method;
  r['path'] = f.path;
  r['route'] = f.route;
  if (f.pop !== null) r['pop'] = scalar(f.pop);
  r['status'] = f.status;
  r['ms'] = Math.round(f.ms * 100) / 100;
  r['bytes'] = f.bytes;
  for (const name of FIELDS) {
    const v = scalar(f.fields[name]);
    if (v !== undefined) r[name] = v;
  }
  if (f.attempts.length > 0 && Array.isArray(f.fields['attempts'])) {
    r['attempts'] = f.attempts.map((a) => ({
      origin: a.origin,
      region: a.region,
      outcome: a.outcome,
      // undefined when the attempt got no status: JSON leaves the key out.
      status: a.status,
      ms: a.ms,
    }));
  }
  if (f.limit !== null) r['limit'] = f.limit;
  if (f.authResult !== null) r['authResult'] = f.authResult;
  return r;
}
