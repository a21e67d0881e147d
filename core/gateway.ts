/**
 * The gateway: a compiled config and the runtime's capabilities, turned into one `fetch`.
 *
 * Order per request (DESIGN.md, "One request, in order"): request id → reserved endpoints →
 * normalize → match (one hot-path crossing) → the route's pipeline (policies in phase order
 * around the upstream step) → log. Observation wraps the pipeline, so refusals are logged too.
 *
 * There is no Hono app in the request path: the gateway's only dispatch before the route match is
 * a handful of reserved paths, and a second router over them cost a second crossing into the hot
 * path per request. Hono stays the framework of the Node adapter and of `PorticoRouter`.
 */
import type { Capabilities, LogRecord, RequestContext, Stores } from './capabilities.ts';
import type { CompiledConfig } from './config/compile.ts';
import { HttpProblem, PorticoError, SecretError } from './errors.ts';
import { parseCidr, type CidrRange } from './http/ip.ts';
import { OVERRIDE_HEADERS, clientResolver, originHeaders, requestIdFrom } from './http/headers.ts';
import { normalizePath } from './http/normalize.ts';
import { setKnown } from './http/header-map.ts';
import { internalProblem, problemResponse, type ProblemInput } from './http/problem.ts';
import { RouteExchange } from './pipeline/exchange.ts';
import { composeRoute, initPolicies, policyDefinition, type RouteHandler } from './pipeline/compose.ts';
import type { Exchange, GatewayEndpoint, PolicyRuntime } from './pipeline/policy.ts';
import { createRouteMatcher, findPreflightRoute, type RouteMatcher } from './router/route-matcher.ts';
import { createMemoryCache, createMemoryKV } from './stores/index.ts';
import { proxyRequest } from './upstream/proxy.ts';
import { Observer, type RequestTrace, timePolicy } from './observe/index.ts';
import { sameSecret } from './policies/jwt/revocation.ts';
import { Upstreams } from './upstream/upstreams.ts';
import { HealthChecker } from './upstream/health.ts';
import type { GeoInfo } from './capabilities.ts';

/** The origins' state (health, breakers, EWMA) as JSON; served with an admin token (admin block or observability.metrics). */
export const UPSTREAMS_PATH = '/_portico/upstreams';

export interface Gateway {
  /** Handles one request. Never rejects: failures become problem+json responses. */
  fetch(request: Request, context: RequestContext): Promise<Response>;
  /**
   * Settles once every policy is set up and every secret resolved; rejects (with a `SecretError`
   * naming the config path and the variable, or a `PorticoError`) when the gateway cannot start.
   * Targets that start a server await it; `fetch` awaits it too.
   */
  readonly ready: Promise<void>;
  /** Marks the gateway as draining: /ready answers 503 so load balancers stop sending. */
  setDraining(draining: boolean): void;
  /** The stores in use: the platform's, or core's in-memory fallbacks. */
  readonly stores: Stores;
  /** The route matcher, for `explain` and tests. */
  readonly matcher: RouteMatcher;
  readonly config: CompiledConfig;
  /** The observation of requests: the metrics registry and the OTLP exporter (`otlp.flush()` at shutdown). */
  readonly observer: Observer;
  /** Breaker, health and latency state of the origins (see Upstreams.snapshot). */
  readonly upstreams: Upstreams;
}

/** Host of the request URL, lower-case, without port or trailing dot; IPv6 keeps its brackets. */
function requestHost(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** The path of a request URL as it came, for error records made before normalization. */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

function causeText(err: unknown): string {
  if (err instanceof PorticoError && err.cause instanceof Error) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

const NO_STORE = { 'cache-control': 'no-store' };

/** Allow header for a TRACE refused on a route that takes any method (every method but TRACE). */
const DEFAULT_ALLOW = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

function jsonResponse(body: unknown, status: number, requestId: string, method: string): Response {
  const headers = new Headers(NO_STORE);
  headers.set('content-type', 'application/json');
  headers.set('x-request-id', requestId);
  return new Response(method === 'HEAD' ? null : JSON.stringify(body), { status, headers });
}

/**
 * Gives every record a `time` (ISO 8601, UTC, milliseconds) first, unless it has one. The text is
 * made once per millisecond: records of the same millisecond share it (see bench/log-time.ts).
 * @example const log = timestampedLog((r) => console.log(JSON.stringify(r)), Date.now);
 */
export function timestampedLog(sink: (record: LogRecord) => void, now: () => number): (record: LogRecord) => void {
  const time = logTime(now);
  return (record) => {
    if (record['time'] !== undefined) return sink(record);
    sink({ time: time(), ...record });
  };
}

/**
 * The current time as a log record's `time` text, made once per millisecond. The access record
 * is built with it as its first field, so that timestampedLog passes it on as it is instead of
 * copying it behind a new `time` (a copy of some fifteen fields on every request).
 */
export function logTime(now: () => number): () => string {
  let lastMs = Number.NaN;
  let lastText = '';
  return () => {
    const ms = now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastText = new Date(ms).toISOString();
    }
    return lastText;
  };
}

/**
 * Builds the gateway.
 * @example
 * const gw = createGateway(await compileConfig(json), { forward: fetch, now: Date.now, hot: createTwinHot() });
 * await gw.ready;
 * const res = await gw.fetch(new Request('http://localhost/health'), { waitUntil() {} });
 */
export function createGateway(config: CompiledConfig, caps: Capabilities): Gateway {
  const matcher = createRouteMatcher(config, caps.hot);
  const trusted = config.trustedProxies.map((t) => parseCidr(t)).filter((r): r is CidrRange => r !== null);
  const resolveClient = clientResolver(trusted);
  const log = caps.log ? timestampedLog(caps.log, caps.now) : () => {};
  const accessTime = logTime(caps.now);
  const stores: Stores = {
    kv: caps.stores?.kv ?? createMemoryKV({ now: caps.now }),
    cache: caps.stores?.cache ?? createMemoryCache({ now: caps.now }),
    ...(caps.stores?.counters ? { counters: caps.stores.counters } : {}),
  };
  const gatewayHeaders = config.gatewayHeaders ?? [];
  /**
   * Request headers no origin gets from a client:
   * - Host: the origin's own is sent;
   * - Expect, which belongs to the hop that answers it (RFC 9110 §10.1.1): the runtime's server
   *   has sent the 100 Continue (or refused an unknown expectation with 417) before the gateway
   *   ran, so the origin gets the body without it (undici refuses the header outright);
   * - the path and method overrides (OVERRIDE_HEADERS);
   * - identity headers and the gateway's assertion: only the gateway sets them, on every route.
   */
  const neverForwarded: ReadonlySet<string> = new Set(['host', 'expect', ...OVERRIDE_HEADERS, ...gatewayHeaders]);
  let draining = false;

  const runtime: PolicyRuntime = {
    config,
    stores,
    sharedStores: { kv: caps.stores?.kv !== undefined, cache: caps.stores?.cache !== undefined },
    now: caps.now,
    hot: caps.hot,
    log,
    fetch: caps.forward,
    // `observer` is built just below; these run only once requests do.
    metrics: {
      jwksFetch: (issuer, outcome) => observer.metrics?.jwksFetches.inc([issuer, outcome]),
      cachePurge: () => observer.metrics?.cachePurges.inc([]),
      cacheBytes: (bytes) => observer.metrics?.cacheBytes.set([], bytes),
    },
    async secret(ref, at) {
      const value = caps.secrets ? await caps.secrets(ref.env) : undefined;
      if (value === undefined || value === '') throw new SecretError(at, ref.env);
      return value;
    },
  };

  // Observation: metrics, traces, Server-Timing, probes and the access record (core/observe).
  const observer = new Observer(config, {
    now: caps.now,
    fetch: caps.forward,
    secret: (ref, at) => runtime.secret(ref, at),
    sameSecret,
  });
  // The in-flight gauge's one series, held so that a request adds to it without a label lookup.
  const inFlight = observer.metrics?.inFlight.handle([]);
  /** Breakers, latency averages, budgets and limits of this gateway instance. */
  const upstreams = new Upstreams(config, {
    now: caps.now,
    log,
    onBreaker: (origin, state) => observer.metrics?.breaker(origin, state),
  });
  const health = new HealthChecker(upstreams, {
    forward: caps.forward,
    now: caps.now,
    log,
    kv: stores.kv,
    sharedKv: caps.stores?.kv !== undefined,
  });
  if (health.active && caps.timers) health.startTimers();
  /** The client's place from the trusted geo headers (config.geo), for requests whose runtime tells none. */
  const headerGeo = new WeakMap<Request, GeoInfo>();

  /** The upstream step: the innermost handler of every route. Origin failures become problems here. */
  const upstream: RouteHandler = (ex) => {
    // Not an async function: everything that may throw is inside the try, so that a throw still
    // reaches the policies around this step as a rejected promise, as it did from an async one.
    try {
      if (health.active && !caps.timers) {
        const due = health.onRequest();
        if (due) ex.context.waitUntil(due);
      }
      // Precedence: platform geo, a trusted caller's geo header, then the client address (geo.mmdb),
      // looked up only for routes with a pool (the only ones that use it).
      const geo =
        ex.context.geo ?? headerGeo.get(ex.request) ?? (caps.geo && ex.route.pool ? caps.geo(ex.clientAddress) : undefined);
      // One shape for every request, without spreads: each property after a spread in an object
      // literal is defined through a keyed inline cache, which can end in V8's runtime once it
      // is megamorphic (seen under callgrind for Node's own nextTick; bench/README.md).
      // Its failures are handled as a reaction rather than by an async frame (upstreamFailed).
      return proxyRequest(config, caps.forward, {
        upstreams,
        now: caps.now,
        geo,
        request: ex.request,
        route: ex.route,
        path: ex.upstreamPath,
        search: ex.upstreamSearch,
        headers: ex.upstreamHeaders,
        onClientGone: ex.context.onClientGone,
        onInformational: ex.context.onInformational,
        nativeBody: ex.context.nativeBody,
        nativeRelay: ex.context.nativeRelay === true && bodiesUntouched.has(ex.route),
        logFields: ex.logFields,
        onFailover: (failed, next, error) =>
          log({
            level: 'warn',
            msg: 'origin failed; trying the next origin',
            requestId: ex.requestId,
            method: ex.method,
            path: ex.path,
            route: ex.route.id,
            origin: failed.name,
            region: failed.region,
            next: next.name,
            nextRegion: next.region,
            cause: causeText(error),
          }),
        onBodyError: (error, timedOut) =>
          log({
            level: 'error',
            msg: timedOut
              ? 'origin went silent mid-body; client connection broken'
              : 'origin body failed; client connection broken',
            requestId: ex.requestId,
            method: ex.method,
            path: ex.path,
            route: ex.route.id,
            origin: ex.logFields['origin'],
            region: ex.logFields['region'],
            code: timedOut ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNREACHABLE',
            cause: error instanceof Error ? error.message : String(error),
          }),
      }).catch((err: unknown) => upstreamFailed(ex, err));
    } catch (err) {
      // Thrown before proxyRequest had a promise to give: the same handling, still as a promise.
      return Promise.reject(err).catch((e: unknown) => upstreamFailed(ex, e));
    }
  };
  /** An origin failure (an HttpProblem) as the client's problem response; anything else is thrown on. */
  const upstreamFailed = (ex: Exchange, err: unknown): Response => {
    if (!(err instanceof HttpProblem)) throw err;
    ex.logFields['code'] = err.code;
    ex.logFields['cause'] = causeText(err);
    return problemResponse(err, ex.requestId, ex.method);
  };

  // Route handlers and policy endpoints, built once `ready` has resolved every secret.
  const handlers: RouteHandler[] = [];
  /** The routes whose every policy leaves bodies alone (PolicyDefinition.bodies): they may relay natively. */
  const bodiesUntouched = new Set(
    config.routes.filter((route) => route.policies.every((p) => policyDefinition(p.name)?.bodies === 'none')),
  );
  const endpoints = new Map<string, GatewayEndpoint>();
  const ready = (async () => {
    const shared = await initPolicies(runtime);
    await observer.init();
    for (const [name, state] of shared) {
      for (const endpoint of policyDefinition(name)?.endpoints?.(runtime, state) ?? []) endpoints.set(endpoint.path, endpoint);
    }
    // Where spans or Server-Timing read them, the upstream step and the auth, rate-limit and
    // cache phases are timed.
    const timedStep: RouteHandler = (ex) => (ex.trace ? ex.trace.span('upstream', 'origin', () => upstream(ex)) : upstream(ex));
    const built = await Promise.all(
      config.routes.map((route) =>
        observer.timesSteps(route.id)
          ? composeRoute(route, runtime, shared, timedStep, timePolicy)
          : composeRoute(route, runtime, shared, upstream),
      ),
    );
    handlers.push(...built);
  })();
  let started = false;
  ready.then(
    () => {
      started = true;
    },
    (err: unknown) => {
      log({
        level: 'error',
        msg: 'gateway cannot start',
        code: err instanceof PorticoError ? err.code : 'ERR_INTERNAL',
        cause: err instanceof SecretError ? err.message : causeText(err),
      });
    },
  );

  /** Answers of the gateway itself, on every host, before any route; null when `path` is not one. */
  async function reserved(request: Request, path: string, requestId: string, context: RequestContext): Promise<Response | null> {
    const method = request.method;
    if (path === '/health' || path === '/ready') {
      if (method !== 'GET' && method !== 'HEAD') return null;
      if (path === '/health') return jsonResponse({ status: 'ok', config: config.hash }, 200, requestId, method);
      return draining
        ? jsonResponse({ status: 'draining' }, 503, requestId, method)
        : jsonResponse({ status: 'ready' }, 200, requestId, method);
    }
    if (!path.startsWith('/_portico/')) return null;
    const endpoint = endpoints.get(path);
    if (!endpoint) return null;
    if (!endpoint.methods.includes(method)) {
      return problemResponse(
        {
          code: 'ERR_METHOD_NOT_ALLOWED',
          detail: `${method} is not allowed on ${path}.`,
          headers: { allow: endpoint.methods.join(', ') },
        },
        requestId,
        method,
      );
    }
    const response = await endpoint.handle(request, context);
    response.headers.set('x-request-id', requestId);
    return response;
  }

  async function handle(request: Request, context: RequestContext, requestId: string): Promise<Response> {
    const started = observer.clock();
    const url = context.url ?? new URL(request.url);
    const method = request.method;
    const pathname = url.pathname;
    // Only the gateway's own paths pay for the async look-up; every other request goes on at once.
    if (pathname === '/health' || pathname === '/ready' || pathname.startsWith('/_portico/')) {
      const own = await reserved(request, pathname, requestId, context);
      if (own) return own;
    }
    if (pathname === observer.metricsPath) return observer.serveMetrics(request, requestId);
    // Health, breaker state and latency average per origin, as JSON, behind the admin token.
    if (pathname === UPSTREAMS_PATH && observer.adminEndpoints) {
      return observer.serveAdminJson(request, requestId, UPSTREAMS_PATH, () => ({
        config: config.hash,
        origins: upstreams.snapshot(),
      }));
    }

    const normalized = normalizePath(url.pathname);
    if (!normalized.ok) {
      return refused(
        { code: 'ERR_BAD_REQUEST_PATH', detail: `The request path cannot be routed safely: ${normalized.reason}.` },
        requestId,
        method,
        started,
        url.pathname,
        context,
      );
    }
    const path = normalized.path;
    const host = requestHost(url);
    let found = matcher.find(method, host, path, request.headers);
    // A CORS preflight is about another method: the route that takes that method answers it if it
    // has a CORS policy, whatever its methods list (a browser never sends the preflight itself).
    if (found.kind === 'method' && method === 'OPTIONS')
      found = findPreflightRoute(matcher, host, path, request.headers) ?? found;
    if (found.kind === 'none') {
      return refused(
        { code: 'ERR_ROUTE_NOT_FOUND', detail: `No route matches ${method} ${path}.` },
        requestId,
        method,
        started,
        path,
        context,
      );
    }
    if (found.kind === 'method') {
      return refused(
        {
          code: 'ERR_METHOD_NOT_ALLOWED',
          detail: `${method} is not allowed on ${path}.`,
          headers: { allow: found.allow.join(', ') },
        },
        requestId,
        method,
        started,
        path,
        context,
      );
    }
    const { route, params } = found.match;
    // TRACE echoes the request back, cookies and credentials included (cross-site tracing):
    // refused unless the route lists it in match.methods.
    if (method === 'TRACE' && !route.methods?.includes('TRACE')) {
      return refused(
        {
          code: 'ERR_METHOD_NOT_ALLOWED',
          detail: `TRACE is not allowed on ${path}.`,
          headers: { allow: (route.methods ?? DEFAULT_ALLOW).join(', ') },
        },
        requestId,
        method,
        started,
        path,
        context,
      );
    }

    const client = resolveClient(context.clientAddress ?? '', request.headers.get('x-forwarded-for'));
    // The origin's copy: a HeaderMap, edited below and by the route's policies (header-map.ts),
    // without hop-by-hop fields, what only a trusted proxy may tell (X-Forwarded-*, …) and
    // neverForwarded.
    const headers = originHeaders(request.headers, client.peerTrusted, neverForwarded);
    // Where the runtime does not tell the peer's address (plain workerd, WASI) there is no entry
    // to send: the client's own X-Forwarded-For is gone with the rest, and none replaces it.
    if (client.forwardedFor === '') headers.deleteKnown('x-forwarded-for');
    else headers.set('x-forwarded-for', client.forwardedFor);
    // Values the URL parser and requestIdFrom have checked: set without a second check.
    if (!headers.has('x-forwarded-proto')) headers.setKnown('x-forwarded-proto', url.protocol.slice(0, -1));
    if (!headers.has('x-forwarded-host')) headers.setKnown('x-forwarded-host', url.host);
    headers.setKnown('x-request-id', requestId);
    // Trace context: the caller's from a trusted caller, else a new trace; the origin gets ours.
    const trace = observer.begin(request.headers, headers, client.address, client.peerTrusted, started);

    if (!context.geo && client.peerTrusted && config.geo && (config.geo.countryHeader || config.geo.continentHeader)) {
      const geo: GeoInfo = {};
      const country = config.geo.countryHeader ? request.headers.get(config.geo.countryHeader) : null;
      const continent = config.geo.continentHeader ? request.headers.get(config.geo.continentHeader) : null;
      if (country && /^[A-Za-z]{2}$/.test(country)) geo.country = country.toUpperCase();
      if (continent && /^[A-Za-z]{2}$/.test(continent)) geo.continent = continent.toUpperCase();
      if (geo.country || geo.continent) headerGeo.set(request, geo);
    }
    const exchange = new RouteExchange(request, url, host, path, route, params, requestId, client.address, context, headers);
    exchange.trace = trace ?? undefined;
    const handler = handlers[route.index] ?? handlers[config.routes.indexOf(route)];
    if (!handler) throw new Error(`no handler for route "${route.id}"`);
    let response: Response;
    try {
      response = await handler(exchange);
    } catch (err) {
      // A policy or the pipeline failed: the error record names the request and its route.
      const problem = internalProblem(err);
      exchange.logFields['code'] = problem.code;
      exchange.logFields['cause'] = causeText(err);
      response = problemResponse(problem, requestId, method);
    }
    setKnown(response.headers, 'x-request-id', requestId);
    accessLog(exchange, response, trace, started);
    return response;
  }

  /**
   * Observes a routed request once its response is known (metrics, spans, Server-Timing, probe
   * headers) and writes its access record: fields from an allow-list (core/observe/access-log.ts).
   */
  function accessLog(ex: Exchange, response: Response, trace: RequestTrace | null, started: number): void {
    const status = response.status;
    const record = observer.finish({
      time: accessTime(),
      route: ex.route,
      method: ex.method,
      path: ex.path,
      requestId: ex.requestId,
      response,
      fields: ex.logFields,
      trace,
      clientAddress: ex.clientAddress,
      requestHeaders: ex.request.headers,
      context: ex.context,
      // A 5xx of the gateway's own making (an origin unreachable, timed out) is an error to page on.
      level: status >= 500 && ex.logFields['code'] !== undefined ? 'error' : 'info',
      // Without a trace, the duration is measured from here (a trace carries its own start).
      startMs: started,
    });
    if (record) log(record);
  }

  /** A request refused before any route took it (bad path, no route, wrong method). */
  function refused(
    problem: ProblemInput,
    requestId: string,
    method: string,
    started: number,
    path: string | undefined,
    context: RequestContext,
  ): Response {
    const response = problemResponse(problem, requestId, method);
    const record = observer.finish({
      time: accessTime(),
      route: null,
      method,
      path: path ?? null,
      requestId,
      response,
      fields: { code: problem.code },
      trace: null,
      clientAddress: context.clientAddress ?? '',
      requestHeaders: new Headers(),
      context,
      level: 'info',
      startMs: started,
    });
    if (record) log(record);
    return response;
  }

  return {
    fetch: async (request, context) => {
      const requestId = requestIdFrom(request.headers);
      try {
        if (!started) await ready;
        if (inFlight === undefined) return await handle(request, context, requestId);
        inFlight.value++;
        try {
          return await handle(request, context, requestId);
        } finally {
          inFlight.value--;
        }
      } catch (err) {
        const problem = internalProblem(err);
        log({
          level: 'error',
          msg: problem.title,
          requestId,
          method: request.method,
          path: pathOf(request.url),
          route: null,
          code: problem.code,
          status: problem.status,
          cause: causeText(err),
        });
        return problemResponse(problem, requestId, request.method);
      }
    },
    ready,
    setDraining(value) {
      draining = value;
      if (value) health.stop();
    },
    stores,
    matcher,
    config,
    observer,
    upstreams,
  };
}

export type { LogRecord };
