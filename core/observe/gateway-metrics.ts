/**
 * The gateway's metrics: one catalogue of names, label sets and buckets, and the one function
 * that turns a finished request's facts into them. Label values come from labels.ts only.
 */
import type { CompiledConfig, CompiledRoute } from '../config/compile.ts';
import {
  type Attempt,
  authResult,
  BREAKER_STATES,
  CACHE_STATUSES,
  type ConfigNames,
  configNames,
  methodLabel,
  NO_ROUTE,
  NONE,
  OTHER,
  oneOf,
  statusClass,
} from './labels.ts';
import { type Counter, EDGE_LATENCY_BUCKETS, type Gauge, type Histogram, Registry } from './registry.ts';

/** Numeric breaker states of `portico_breaker_state` (an alert compares with 2). */
export const BREAKER_STATE_VALUE: Record<string, number> = { closed: 0, 'half-open': 1, open: 2 };

/** What the gateway knows about one finished request. */
export interface RequestFacts {
  route: CompiledRoute | null;
  method: string;
  status: number;
  /** Seconds from the request's arrival to its response headers. */
  seconds: number;
  /** `exchange.logFields` (empty for a request no route took). */
  fields: Record<string, unknown>;
  /** The attempts, already read with `attemptsOf` (the access log and the spans use them too). */
  attempts: Attempt[];
  decisions: Decisions;
}

/** The limit and auth decisions of a request, as fixed words (null: the route has no such policy, or the request never got there). */
export interface Decisions {
  limit: 'allowed' | 'limited' | 'unavailable' | null;
  limitMode: string;
  auth: string | null;
  authPolicy: string | null;
}

export const NO_DECISIONS: Decisions = { limit: null, limitMode: NONE, auth: null, authPolicy: null };

/** What the route's limit and auth policies decided, from the request's log fields. */
export function decisionsOf(shape: RouteShape, fields: Record<string, unknown>): Decisions {
  let limit: Decisions['limit'] = null;
  let limitMode = shape.mode;
  if (shape.limitModes !== null) {
    const decided = fields['rateLimit'];
    if (decided === 'store-unavailable') limit = 'unavailable';
    else if (decided !== undefined) {
      limit = 'limited';
      if (typeof decided === 'string') limitMode = shape.limitModes.get(decided) ?? shape.mode;
    } else if (passed(fields, 'ratelimit')) limit = 'allowed';
  }
  let auth: string | null = null;
  if (shape.auth !== null) {
    const result = authResult(fields);
    // A request refused before auth ran (CORS) says nothing about auth.
    if (result !== 'ok' || passed(fields, 'auth')) auth = result;
  }
  return { limit, limitMode, auth, authPolicy: shape.auth };
}

/** Per-route facts that never change: which auth and limit policies the route runs. */
export interface RouteShape {
  auth: string | null;
  /** Mode of each limit by id, and the route's mode label (`mixed` when its limits differ). */
  limitModes: Map<string, string> | null;
  mode: string;
}

export function routeShape(route: CompiledRoute): RouteShape {
  const authPolicies = route.policies.filter((p) => p.phase === 'auth').map((p) => p.name);
  const limit = route.policies.find((p) => p.name === 'rateLimit');
  let limitModes: Map<string, string> | null = null;
  let mode = NONE;
  if (limit) {
    const limits = ((limit.config as { limits?: { id: string; mode: string }[] }).limits ?? []) as { id: string; mode: string }[];
    limitModes = new Map(limits.map((l) => [l.id, l.mode]));
    const modes = new Set(limits.map((l) => l.mode));
    mode = modes.size === 1 ? ([...modes][0] as string) : 'mixed';
  }
  return { auth: authPolicies.length === 0 ? null : authPolicies.join('+'), limitModes, mode };
}

/**
 * The metrics of one gateway.
 * @example
 * const m = createGatewayMetrics(config, Date.now);
 * m.record({ route, method: 'GET', status: 200, seconds: 0.004, fields: {}, attempts: [] });
 * encodePrometheus(m.registry, 'text');
 */
export class GatewayMetrics {
  readonly registry: Registry;
  readonly requests: Counter;
  readonly duration: Histogram;
  readonly inFlight: Gauge;
  readonly attempts: Counter;
  readonly attemptDuration: Histogram;
  readonly failovers: Counter;
  readonly retries: Counter;
  readonly breakerState: Gauge;
  readonly breakerTransitions: Counter;
  readonly cacheRequests: Counter;
  readonly cachePurges: Counter;
  readonly cacheBytes: Gauge;
  readonly limitDecisions: Counter;
  readonly limitStoreErrors: Counter;
  readonly authResults: Counter;
  readonly jwksFetches: Counter;
  readonly shed: Counter;
  readonly configInfo: Gauge;
  readonly exports: Counter;
  readonly dropped: Counter;
  private readonly names: ConfigNames;

  constructor(config: CompiledConfig, now: () => number) {
    const r = new Registry(now);
    this.registry = r;
    this.names = configNames(config);
    const rm = ['route', 'method', 'status_class', 'region'];
    this.requests = r.counter('portico_requests', 'Requests answered, refusals and errors included.', rm);
    this.duration = r.histogram(
      'portico_request_duration_seconds',
      'Time from a request arriving to its response headers, in seconds.',
      rm,
      EDGE_LATENCY_BUCKETS,
    );
    this.inFlight = r.gauge('portico_requests_in_flight', 'Requests being handled now.');
    this.attempts = r.counter('portico_origin_attempts', 'Attempts at an origin, by outcome.', ['origin', 'region', 'outcome']);
    this.attemptDuration = r.histogram(
      'portico_origin_attempt_duration_seconds',
      'Time of one origin attempt to its response headers or its failure, in seconds.',
      ['origin', 'region'],
      EDGE_LATENCY_BUCKETS,
    );
    this.failovers = r.counter('portico_failovers', 'Requests sent on to the next origin after one failed.', [
      'route',
      'from_region',
      'to_region',
    ]);
    this.retries = r.counter('portico_retries', 'Origin attempts beyond the first.', ['route']);
    this.breakerState = r.gauge('portico_breaker_state', 'Circuit breaker state per origin: 0 closed, 1 half-open, 2 open.', [
      'origin',
    ]);
    this.breakerTransitions = r.counter('portico_breaker_transitions', 'Circuit breaker state changes.', ['origin', 'to']);
    this.cacheRequests = r.counter('portico_cache_requests', 'Cache lookups by Cache-Status outcome.', ['route', 'status']);
    this.cachePurges = r.counter('portico_cache_purges', 'Cache purges applied (by tags, URLs or all; local or fanned out).', []);
    this.cacheBytes = r.gauge('portico_cache_bytes', 'Bytes of response bodies held by the cache of this instance.', []);
    this.limitDecisions = r.counter('portico_ratelimit_decisions', 'Rate-limit decisions.', ['route', 'mode', 'decision']);
    this.limitStoreErrors = r.counter('portico_ratelimit_store_errors', 'Rate-limit decisions made without the store.', [
      'route',
    ]);
    this.authResults = r.counter('portico_auth_results', 'Auth results by policy and reason.', ['route', 'policy', 'result']);
    this.jwksFetches = r.counter('portico_jwks_fetches', 'JWKS fetches by issuer and outcome.', ['issuer', 'outcome']);
    this.shed = r.counter('portico_shed', 'Requests answered by load shedding.', ['route']);
    this.configInfo = r.info('portico_config', 'The config this instance runs.', ['hash', 'version']);
    this.exports = r.counter('portico_telemetry_exports', 'OTLP exports by signal and outcome.', ['signal', 'outcome']);
    this.dropped = r.counter('portico_telemetry_dropped', 'Spans or metric pushes dropped (buffer full, collector down).', [
      'signal',
    ]);
    this.configInfo.set([config.hash, String(config.version)], 1);
    this.inFlight.set([], 0);
  }

  /** Records a breaker state change (for the upstream step's breakers). */
  breaker(origin: string, state: string): void {
    const o = oneOf(origin, this.names.origins);
    const s = oneOf(state, BREAKER_STATES);
    const value = BREAKER_STATE_VALUE[s];
    if (value === undefined) return;
    const before = this.breakerState.series.get(o);
    if (!before || before.value !== value) this.breakerTransitions.inc([o, s]);
    this.breakerState.set([o], value);
  }

  /** Records one finished request: every family that its facts speak of. */
  record(f: RequestFacts): void {
    const route = f.route === null ? NO_ROUTE : f.route.id;
    const fields = f.fields;
    const region = oneOf(fields['region'], this.names.regions);
    const labels = [route, methodLabel(f.method), statusClass(f.status), region];
    this.requests.inc(labels);
    this.duration.observe(labels, f.seconds);
    if (f.route === null) return;
    const attempts = f.attempts;
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i] as Attempt;
      this.attempts.inc([a.origin, a.region, a.outcome]);
      if (a.ms >= 0) this.attemptDuration.observe([a.origin, a.region], a.ms / 1000);
      else this.attemptDuration.observe([a.origin, a.region], f.seconds);
      const next = attempts[i + 1];
      if (next) this.failovers.inc([route, a.region, next.region]);
      // A breaker's state as the attempts show it, where the upstream step does not report it.
      if (a.outcome === 'open') this.breakerSeen(a.origin, 'open');
      else if (a.outcome === 'ok' || a.outcome === 'status') this.breakerSeen(a.origin, 'closed');
    }
    const retries = fields['retries'];
    if (typeof retries === 'number' && retries > 0 && Number.isFinite(retries)) this.retries.inc([route], retries);
    if (fields['cache'] !== undefined) this.cacheRequests.inc([route, oneOf(fields['cache'], CACHE_STATUSES)]);
    if (fields['shed'] === true) this.shed.inc([route]);
    const d = f.decisions;
    if (d.limit !== null) {
      if (d.limit === 'unavailable') this.limitStoreErrors.inc([route]);
      this.limitDecisions.inc([route, d.limitMode, d.limit]);
    }
    if (d.auth !== null && d.authPolicy !== null) this.authResults.inc([route, d.authPolicy, d.auth]);
  }

  private breakerSeen(origin: string, state: 'open' | 'closed'): void {
    if (origin === OTHER || origin === NONE) return;
    const value = BREAKER_STATE_VALUE[state] as number;
    const before = this.breakerState.series.get(origin);
    if (before && before.value === value) return;
    if (before || state === 'open') this.breakerTransitions.inc([origin, state]);
    this.breakerState.set([origin], value);
  }
}

/** Phases a request got past, by the code it was refused with (none: it got past every phase). */
const REFUSED_AT: Record<string, 'cors' | 'auth' | 'ratelimit'> = {
  ERR_CORS_ORIGIN_DENIED: 'cors',
  ERR_AUTH_MISSING: 'auth',
  ERR_AUTH_INVALID: 'auth',
  ERR_TOKEN_REVOKED: 'auth',
  ERR_INSUFFICIENT_SCOPE: 'auth',
  ERR_API_KEY_MISSING: 'auth',
  ERR_API_KEY_INVALID: 'auth',
  ERR_API_KEY_UNAVAILABLE: 'auth',
  ERR_RATE_LIMITED: 'ratelimit',
  ERR_RATE_LIMIT_UNAVAILABLE: 'ratelimit',
};
const ORDER = { cors: 0, auth: 1, ratelimit: 2 } as const;

/** Whether the request got through `phase` (it was not refused there or before). */
function passed(fields: Record<string, unknown>, phase: 'auth' | 'ratelimit'): boolean {
  const code = fields['code'];
  if (typeof code !== 'string') return true;
  const at = REFUSED_AT[code];
  return at === undefined || ORDER[at] > ORDER[phase];
}
