/**
 * What the gateway remembers about its origins between requests: a circuit breaker, a moving
 * average of latency (EWMA), requests in flight and active-health state per origin; a retry
 * budget and a concurrency limit per route. From it comes the order in which a request tries
 * its route's origins: the client's region first (a pool's region map, or the first origin of an
 * `upstream` list), then the others by observed latency, leaving out those whose breaker is open,
 * that failed their health checks, or asked for time with Retry-After, unless that leaves
 * nothing (panic mode: the first choice is tried once all the same).
 */
import type { GeoInfo, LogRecord } from '../capabilities.ts';
import type { CompiledConfig, CompiledOrigin, CompiledPool, CompiledRoute } from '../config/compile.ts';
import { DEFAULT_BREAKER, CircuitBreaker, type BreakerState } from './breaker.ts';
import { ConcurrencyLimit } from './concurrency-limit.ts';
import { continentOf } from './continents.ts';
import { RetryBudget } from './retry-budget.ts';

/** Weight of the newest sample in the latency average (0.3: about the last 6 samples matter). */
export const EWMA_ALPHA = 0.3;
/** Longest Retry-After an origin's 503 keeps it out of the order, in milliseconds. */
export const MAX_RETRY_AFTER_EJECT_MS = 60_000;

export interface OriginState {
  readonly origin: CompiledOrigin;
  readonly breaker: CircuitBreaker | null;
  /** Moving average of the time to response headers, in milliseconds; null before any sample. */
  ewmaMs: number | null;
  samples: number;
  readonly limit: ConcurrencyLimit | null;
  /** Active health (true until checks say otherwise). */
  healthy: boolean;
  /** When the last health verdict was made, ms since the epoch (0: never checked). */
  healthCheckedAt: number;
  /** Not tried before this time (an origin's 503 asked for it with Retry-After), ms since the epoch. */
  unavailableUntil: number;
}

export interface RouteState {
  readonly budget: RetryBudget | null;
  readonly limit: ConcurrencyLimit | null;
}

/** The order a request would try its origins in, and why. */
export interface OriginPlan {
  /** Origins to try, best first. */
  origins: OriginState[];
  /** Origins left out (breaker open, unhealthy, Retry-After), with the reason. */
  skipped: { state: OriginState; reason: 'open' | 'unhealthy' | 'retry-after' }[];
  /** The client's region as the route's pool maps it; null for routes without a pool. */
  clientRegion: string | null;
  /** Every origin was left out: the first choice is tried once anyway. */
  panic: boolean;
  /** Whether breakers and health steer this route (else every origin is tried in order). */
  steered: boolean;
}

export interface UpstreamsOptions {
  now(): number;
  log(record: LogRecord): void;
  /** Told each breaker state change (the metrics' `portico_breaker_state`). */
  onBreaker?: (origin: string, state: 'open' | 'half-open' | 'closed') => void;
  random?: () => number;
}

export class Upstreams {
  private readonly origins = new Map<string, OriginState>();
  private readonly routes = new Map<number, RouteState>();

  constructor(
    readonly config: CompiledConfig,
    private readonly options: UpstreamsOptions,
  ) {
    for (const origin of Object.values(config.origins)) {
      const settings = origin.breaker === undefined ? DEFAULT_BREAKER : origin.breaker;
      const breaker =
        settings === null
          ? null
          : new CircuitBreaker(
              settings,
              options.now,
              (t) => {
                options.onBreaker?.(origin.name, t.to);
                options.log({
                  level: t.to === 'open' ? 'warn' : 'info',
                  msg: `circuit breaker ${t.to}`,
                  origin: origin.name,
                  region: origin.region,
                  breaker: t.to,
                  from: t.from,
                  reason: t.reason,
                  ...(t.openMs !== undefined ? { openMs: t.openMs } : {}),
                });
              },
              options.random,
            );
      const max = origin.maxConcurrent ?? null;
      this.origins.set(origin.name, {
        origin,
        breaker,
        ewmaMs: null,
        samples: 0,
        limit:
          max === null
            ? null
            : new ConcurrencyLimit({ max, queue: origin.queue ?? 0, queueTimeoutMs: origin.queueTimeoutMs ?? 1000 }),
        healthy: true,
        healthCheckedAt: 0,
        unavailableUntil: 0,
      });
    }
  }

  originState(name: string): OriginState | undefined {
    return this.origins.get(name);
  }

  allOrigins(): OriginState[] {
    return [...this.origins.values()];
  }

  routeState(route: CompiledRoute): RouteState {
    let state = this.routes.get(route.index);
    if (!state) {
      const retry = route.retry;
      state = {
        budget: retry === null ? null : new RetryBudget((retry ?? DEFAULT_BUDGET_HOLDER.retry).budget, this.options.now),
        limit: route.shed
          ? new ConcurrencyLimit({
              max: route.shed.maxConcurrent,
              queue: route.shed.queue,
              queueTimeoutMs: route.shed.queueTimeoutMs,
            })
          : null,
      };
      this.routes.set(route.index, state);
    }
    return state;
  }

  /** Counts a latency sample (time to response headers, or the timeout that cut a try). */
  observe(state: OriginState, ms: number): void {
    state.ewmaMs = state.ewmaMs === null ? ms : state.ewmaMs + EWMA_ALPHA * (ms - state.ewmaMs);
    state.samples++;
  }

  /** The region of `route`'s pool that serves a client at `geo`, or null without a pool. */
  clientRegion(route: CompiledRoute, geo: GeoInfo | undefined): string | null {
    const pool = route.pool ? this.config.pools?.[route.pool] : undefined;
    if (!pool) return null;
    return regionFor(pool, geo);
  }

  /** The order a request on `route` from a client at `geo` tries its origins now. */
  plan(route: CompiledRoute, geo: GeoInfo | undefined): OriginPlan {
    const clientRegion = this.clientRegion(route, geo);
    // The usual route: one origin, no pool, no breakers asked for. Nothing to order or skip.
    if (route.upstream.length === 1 && clientRegion === null && !route.breakers) {
      const only = this.origins.get(route.upstream[0] as string);
      return { origins: only ? [only] : [], skipped: [], clientRegion, panic: false, steered: false };
    }
    const states = route.upstream.map((n) => this.origins.get(n)).filter((s): s is OriginState => s !== undefined);
    let first: OriginState[];
    let rest: OriginState[];
    if (clientRegion !== null) {
      first = byLatency(states.filter((s) => s.origin.region === clientRegion));
      rest = states.filter((s) => s.origin.region !== clientRegion);
    } else {
      first = states.slice(0, 1);
      rest = states.slice(1);
    }
    const ordered = [...first, ...byLatency(rest)];
    const steer = route.breakers ?? states.length > 1;
    if (!steer) return { origins: ordered, skipped: [], clientRegion, panic: false, steered: false };
    const now = this.options.now();
    const origins: OriginState[] = [];
    const skipped: OriginPlan['skipped'] = [];
    for (const s of ordered) {
      if (s.breaker && !s.breaker.available()) skipped.push({ state: s, reason: 'open' });
      else if (!s.healthy) skipped.push({ state: s, reason: 'unhealthy' });
      else if (now < s.unavailableUntil) skipped.push({ state: s, reason: 'retry-after' });
      else origins.push(s);
    }
    if (origins.length === 0 && ordered.length > 0) {
      return { origins: ordered.slice(0, 1), skipped: skipped.slice(1), clientRegion, panic: true, steered: true };
    }
    return { origins, skipped, clientRegion, panic: false, steered: true };
  }

  /** Health, breaker and latency per origin, as JSON (for the status view and tests). */
  snapshot(): Record<string, OriginSnapshot> {
    const now = this.options.now();
    const out: Record<string, OriginSnapshot> = {};
    for (const [name, s] of this.origins) {
      const state: BreakerState | 'off' = s.breaker ? s.breaker.state : 'off';
      out[name] = {
        region: s.origin.region,
        breaker: state,
        ...(s.breaker && state === 'open' ? { openForMs: Math.max(0, s.breaker.openUntil - now) } : {}),
        ...(s.breaker ? { consecutiveFailures: s.breaker.consecutive, window: s.breaker.windowCounts() } : {}),
        ewmaMs: s.ewmaMs === null ? null : Math.round(s.ewmaMs * 10) / 10,
        samples: s.samples,
        healthy: s.healthy,
        ...(s.healthCheckedAt > 0 ? { healthAgeMs: now - s.healthCheckedAt } : {}),
        inFlight: s.limit?.active ?? null,
        ...(now < s.unavailableUntil ? { retryAfterMs: s.unavailableUntil - now } : {}),
      };
    }
    return out;
  }
}

export interface OriginSnapshot {
  region: string;
  breaker: BreakerState | 'off';
  openForMs?: number;
  consecutiveFailures?: number;
  window?: { requests: number; failures: number };
  ewmaMs: number | null;
  samples: number;
  healthy: boolean;
  healthAgeMs?: number;
  inFlight: number | null;
  retryAfterMs?: number;
}

/** Holder of the default retry block, imported lazily to keep this module free of compile's values. */
const DEFAULT_BUDGET_HOLDER = { retry: { budget: { ratio: 0.2, minPerSecond: 3, windowMs: 10_000 } } };

/** Stable sort by EWMA, origins without a sample after those with one (in config order). */
function byLatency(states: OriginState[]): OriginState[] {
  return states
    .map((s, i) => ({ s, i }))
    .sort((a, b) => {
      const x = a.s.ewmaMs ?? Number.POSITIVE_INFINITY;
      const y = b.s.ewmaMs ?? Number.POSITIVE_INFINITY;
      return x === y ? a.i - b.i : x - y;
    })
    .map((e) => e.s);
}

/** Country, then continent (told by the platform, or derived from the country), then the default. */
export function regionFor(pool: CompiledPool, geo: GeoInfo | undefined): string {
  const country = geo?.country?.toUpperCase();
  if (country && pool.countries[country]) return pool.countries[country];
  const continent = geo?.continent?.toUpperCase() ?? (country ? continentOf(country) : undefined);
  if (continent && pool.continents[continent]) return pool.continents[continent];
  return pool.defaultRegion;
}
