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
  NO_ROUTE,
  NONE,
  OTHER,
  oneOf,
} from './labels.ts';
import {
  type Counter,
  EDGE_LATENCY_BUCKETS,
  type Gauge,
  type Histogram,
  type HistogramSeries,
  Registry,
  type Series,
} from './registry.ts';

/** Method labels by index, `other` last (see methodLabel). */
const METHOD_LABELS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', OTHER] as const;
const METHOD_INDEX = new Map<string, number>(METHOD_LABELS.slice(0, -1).map((m, i) => [m, i]));
/** Status-class labels by index (status / 100 - 1), `other` last (see statusClass). */
const STATUS_LABELS = ['1xx', '2xx', '3xx', '4xx', '5xx', OTHER] as const;
/** Attempt outcomes by index, `other` last (see ATTEMPT_OUTCOMES). */
const OUTCOME_LABELS = ['ok', 'status', 'connect', 'timeout', 'shed', 'open', OTHER] as const;
const OUTCOME_INDEX = new Map<string, number>(OUTCOME_LABELS.map((o, i) => [o, i]));

/** The request series of one label tuple (route, method, status class, region). */
interface RequestCell {
  requests: Series;
  duration: HistogramSeries;
}

/** One origin's attempt series in its own region, by outcome index. */
interface OriginCells {
  region: string;
  outcomes: (Series | undefined)[];
  duration: HistogramSeries | undefined;
}

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
  /** Region labels by index: the config's regions, then `none` and `other` (regionIndex has the config's only). */
  private readonly regionLabels: string[];
  private readonly regionIndex: Map<string, number>;
  /** Request cells per route (and for requests no route took), by cellIndex. */
  private readonly routeCells = new Map<CompiledRoute | null, (RequestCell | undefined)[]>();
  private readonly originCells = new Map<string, OriginCells>();

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
    this.regionLabels = [...this.names.regions, NONE, OTHER];
    this.regionIndex = new Map([...this.names.regions].map((r, i) => [r, i]));
    for (const o of Object.values(config.origins)) {
      this.originCells.set(o.name, { region: o.region, outcomes: [], duration: undefined });
    }
  }

  /** The request series of a label tuple, made at its first request (labels from fixed lists only). */
  private requestCell(route: CompiledRoute | null, method: string, status: number, region: unknown): RequestCell {
    let cells = this.routeCells.get(route);
    if (cells === undefined) {
      cells = [];
      this.routeCells.set(route, cells);
    }
    const m = METHOD_INDEX.get(method) ?? METHOD_LABELS.length - 1;
    const c = Math.floor(status / 100) - 1;
    const sc = c >= 0 && c < 5 ? c : STATUS_LABELS.length - 1;
    const regions = this.regionLabels.length;
    const ri =
      region === undefined || region === null
        ? regions - 2
        : typeof region === 'string'
          ? (this.regionIndex.get(region) ?? regions - 1)
          : regions - 1;
    const index = (m * STATUS_LABELS.length + sc) * regions + ri;
    let cell = cells[index];
    if (cell === undefined) {
      const labels = [
        route === null ? NO_ROUTE : route.id,
        METHOD_LABELS[m] as string,
        STATUS_LABELS[sc] as string,
        this.regionLabels[ri] as string,
      ];
      cell = { requests: this.requests.handle(labels), duration: this.duration.handle(labels) };
      cells[index] = cell;
    }
    return cell;
  }

  /** Counts one attempt: its outcome and its time (seconds). */
  private attempt(a: Attempt, seconds: number): void {
    const cells = this.originCells.get(a.origin);
    if (cells === undefined || cells.region !== a.region) {
      this.attempts.inc([a.origin, a.region, a.outcome]);
      this.attemptDuration.observe([a.origin, a.region], seconds);
      return;
    }
    const o = OUTCOME_INDEX.get(a.outcome) ?? OUTCOME_LABELS.length - 1;
    let series = cells.outcomes[o];
    if (series === undefined) {
      series = this.attempts.handle([a.origin, a.region, OUTCOME_LABELS[o] as string]);
      cells.outcomes[o] = series;
    }
    series.value++;
    cells.duration ??= this.attemptDuration.handle([a.origin, a.region]);
    this.attemptDuration.observeInto(cells.duration, seconds);
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
    const fields = f.fields;
    const cell = this.requestCell(f.route, f.method, f.status, fields['region']);
    cell.requests.value++;
    this.duration.observeInto(cell.duration, f.seconds);
    if (f.route === null) return;
    const route = f.route.id;
    const attempts = f.attempts;
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i] as Attempt;
      this.attempt(a, a.ms >= 0 ? a.ms / 1000 : f.seconds);
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
