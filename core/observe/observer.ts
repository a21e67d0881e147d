/**
 * Observation of every request, wrapped around the whole pipeline by the gateway: metrics,
 * spans, the access-log record, Server-Timing and the synthetic-probe headers, all made once the
 * response is known, from the request's facts (`exchange.logFields`, the timed steps).
 */
import type { ForwardFn, LogRecord, RequestContext } from '../capabilities.ts';
import type { CompiledConfig, CompiledRoute } from '../config/compile.ts';
import { deleteKnown, setKnown } from '../http/header-map.ts';
import { type CidrRange, cidrContains, parseCidr, parseIp } from '../http/ip.ts';
import { problemResponse } from '../http/problem.ts';
import type { SecretRef } from '../pipeline/policy.ts';
import { accessRecord } from './access-log.ts';
import type { CompiledObservability } from './config.ts';
import { OtlpExporter } from './exporter.ts';
import { type Decisions, decisionsOf, GatewayMetrics, NO_DECISIONS, type RouteShape, routeShape } from './gateway-metrics.ts';
import { type Attempt, attemptsOf, CACHE_STATUSES, type ConfigNames, configNames, methodLabel, NONE, oneOf } from './labels.ts';
import { encodePrometheus, negotiateFormat, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from './prometheus.ts';
import { RequestTrace } from './request-trace.ts';
import { type AttributeValue, SPAN_KIND, type SpanRecord, STATUS_CODE } from './span.ts';
import { cleanTraceState, newSpanId, parseTraceParent } from './trace-context.ts';

/** The probe header and the one value that asks for the routing decision. */
export const PROBE_HEADER = 'x-probe-source';
export const PROBE_VALUE = 'synthetic-monitor';

export interface ObserverOptions {
  now: () => number;
  fetch: ForwardFn;
  secret: (ref: SecretRef, at: string) => Promise<string>;
  /** Constant-time comparison of a given token with the admin token. */
  sameSecret: (given: string, expected: string) => Promise<boolean>;
}

/** What the gateway hands over when a request is answered. */
export interface Finished {
  /** The access record's `time` (gateway.ts logTime). */
  time: string;
  route: CompiledRoute | null;
  method: string;
  path: string | null;
  requestId: string;
  response: Response;
  fields: Record<string, unknown>;
  trace: RequestTrace | null;
  clientAddress: string;
  requestHeaders: Headers;
  context: RequestContext;
  /** The access record's level, as the gateway decides it. */
  level: LogRecord['level'];
  /** When the request arrived (the observer's clock), for requests without a trace. */
  startMs?: number;
}

function ranges(list: readonly string[]): CidrRange[] {
  return list.map((t) => parseCidr(t)).filter((r): r is CidrRange => r !== null);
}

function within(list: readonly CidrRange[], address: string): boolean {
  if (list.length === 0) return false;
  const ip = parseIp(address);
  if (!ip) return false;
  for (const r of list) if (cidrContains(r, ip)) return true;
  return false;
}

/**
 * A high-resolution clock where the runtime has one (Server-Timing and spans want
 * sub-millisecond times), chosen at its first call: the SpiderMonkey engines (Fastly, WASI)
 * snapshot the module at build time (Wizer), where reading `performance` traps.
 */
function hrClock(now: () => number): () => number {
  let clock: (() => number) | null = null;
  return () => {
    if (clock === null) {
      // `performance` is a Web API on every target (Workers advance it only on I/O, as they do Date).
      const p = (globalThis as { performance?: { now(): number; timeOrigin?: number } }).performance;
      if (!p || typeof p.timeOrigin !== 'number') clock = now;
      else {
        const origin = p.timeOrigin;
        clock = () => origin + p.now();
      }
    }
    return clock();
  };
}

const r1 = (ms: number) => Math.round(ms * 10) / 10;

export class Observer {
  readonly config: CompiledObservability | null;
  readonly metrics: GatewayMetrics | null;
  readonly clock: () => number;
  readonly metricsPath: string | null;
  private exporter: OtlpExporter | null = null;
  private adminToken: string | null = null;
  private readonly names: ConfigNames;
  private readonly shapes = new Map<CompiledRoute, RouteShape>();
  private readonly trustedCallers: CidrRange[];
  private readonly probeFrom: CidrRange[];
  private readonly timed: Set<string> | true;
  private readonly originHosts = new Map<string, { address: string; port: number }>();
  private pop: string | null = null;

  constructor(
    private readonly gateway: CompiledConfig,
    private readonly o: ObserverOptions,
  ) {
    const c = gateway.observability ?? null;
    this.config = c;
    this.clock = hrClock(o.now);
    this.names = configNames(gateway);
    this.metrics = c && (c.metrics || c.otlp) ? new GatewayMetrics(gateway, o.now) : null;
    this.metricsPath = c?.metrics?.path ?? null;
    this.trustedCallers = ranges(c?.trustedCallers ?? []);
    this.probeFrom = ranges(c?.probeFrom ?? []);
    this.timed = c?.serverTiming === true ? true : new Set(c?.serverTiming ?? []);
    for (const route of gateway.routes) this.shapes.set(route, routeShape(route));
    for (const origin of Object.values(gateway.origins)) {
      const u = new URL(origin.origin);
      this.originHosts.set(origin.name, {
        address: u.hostname,
        port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
      });
    }
  }

  /**
   * Whether a route's steps (auth, rate limit, cache, upstream) are timed. Only exported spans
   * and Server-Timing read the timings, so without an exporter a route not in serverTiming skips
   * them (about 1 µs a request and a promise per timed step). Asked after `init`.
   */
  timesSteps(routeId: string): boolean {
    return this.config !== null && (this.exporter !== null || this.timed === true || this.timed.has(routeId));
  }

  /** Resolves the admin token and the collector's secret headers; once, before the first request. */
  async init(): Promise<void> {
    const c = this.config;
    if (c?.metrics) this.adminToken = await this.o.secret(c.metrics.token, 'admin.token');
    // An admin block without metrics still serves the admin read endpoints (/_portico/upstreams).
    else if (this.gateway.admin) this.adminToken = await this.o.secret(this.gateway.admin, 'admin.token');
    if (!c) return;
    if (c.otlp && this.metrics) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(c.otlp.headers)) {
        headers[name] = typeof value === 'string' ? value : await this.o.secret(value, `observability.otlp.headers.${name}`);
      }
      this.exporter = new OtlpExporter({
        otlp: c.otlp,
        headers,
        fetch: this.o.fetch,
        now: this.o.now,
        metrics: this.metrics,
        resource: {
          'service.name': c.serviceName,
          'service.instance.id': newSpanId(),
          'portico.config.hash': this.gateway.hash,
        },
      });
    }
  }

  /** The exporter, for tests and shutdown (`flush`). */
  get otlp(): OtlpExporter | null {
    return this.exporter;
  }

  /**
   * A GET or HEAD with the admin token as a bearer, or the problem that refuses it: the gate of
   * the gateway's own read endpoints (metrics, the origins' state).
   */
  private async refuseAdmin(request: Request, requestId: string, path: string, what: string): Promise<Response | null> {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return problemResponse(
        { code: 'ERR_METHOD_NOT_ALLOWED', detail: `${method} is not allowed on ${path}.`, headers: { allow: 'GET, HEAD' } },
        requestId,
        method,
      );
    }
    const auth = request.headers.get('authorization') ?? '';
    const given = /^bearer +/i.test(auth) ? auth.replace(/^bearer +/i, '') : '';
    if (this.adminToken === null || given === '' || !(await this.o.sameSecret(given, this.adminToken))) {
      return problemResponse(
        {
          code: 'ERR_ADMIN_UNAUTHORIZED',
          detail: `${what} needs Authorization: Bearer with the admin token.`,
          headers: { 'www-authenticate': 'Bearer realm="portico-admin"' },
        },
        requestId,
        method,
      );
    }
    return null;
  }

  /** Whether the admin read endpoints are served (the config has an admin token, or observability.metrics). */
  get adminEndpoints(): boolean {
    return this.metricsPath !== null || this.adminToken !== null;
  }

  /** An admin read endpoint answering JSON (`/_portico/upstreams`), behind the admin token. */
  async serveAdminJson(request: Request, requestId: string, path: string, body: () => unknown): Promise<Response> {
    const refused = await this.refuseAdmin(request, requestId, path, `${path}`);
    if (refused) return refused;
    return new Response(request.method === 'HEAD' ? null : JSON.stringify(body(), null, 2), {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-request-id': requestId },
    });
  }

  /** The authenticated Prometheus exposition (GET or HEAD, `Authorization: Bearer <admin token>`). */
  async serveMetrics(request: Request, requestId: string): Promise<Response> {
    const refused = await this.refuseAdmin(request, requestId, this.metricsPath ?? '/metrics', 'The metrics endpoint');
    if (refused) return refused;
    const method = request.method;
    const format = negotiateFormat(request.headers.get('accept'));
    const body = this.metrics ? encodePrometheus(this.metrics.registry, format) : '';
    return new Response(method === 'HEAD' ? null : body, {
      status: 200,
      headers: {
        'content-type': format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE,
        'cache-control': 'no-store',
        'x-request-id': requestId,
      },
    });
  }

  /**
   * The request's trace: the caller's trace when the caller is trusted (a trusted proxy, or one
   * of tracing.trustedCallers) and its traceparent is valid, else a new one. `headers` are the
   * origin's: their traceparent and tracestate are replaced with the gateway's.
   */
  begin(incoming: Headers, headers: Headers, clientAddress: string, peerTrusted: boolean, startMs: number): RequestTrace | null {
    const c = this.config;
    if (c === null) return null;
    const trusted = peerTrusted || within(this.trustedCallers, clientAddress);
    const parent = trusted ? parseTraceParent(incoming.get('traceparent')) : null;
    const state = parent ? cleanTraceState(incoming.get('tracestate')) : null;
    const sampled = parent ? parent.sampled : c.sampleRatio >= 1 || (c.sampleRatio > 0 && Math.random() < c.sampleRatio);
    const trace = new RequestTrace(this.clock, startMs, parent?.traceId ?? null, parent?.parentId ?? '', sampled, state);
    setKnown(headers, 'traceparent', trace.traceParent());
    if (state) headers.set('tracestate', state);
    else deleteKnown(headers, 'tracestate');
    return trace;
  }

  /**
   * Everything that follows a response: metrics, spans, Server-Timing and probe headers (set on
   * `response`), and the access record, returned for the log (null when sampled out).
   */
  finish(f: Finished): LogRecord | null {
    const end = this.clock();
    const response = f.response;
    const status = response.status;
    const fields = f.fields;
    const trace = f.trace;
    const startMs = trace?.startMs ?? f.startMs ?? end;
    const ms = end - startMs;
    const attempts = f.route === null ? [] : attemptsOf(fields, this.names, status);
    const shape = f.route === null ? undefined : this.shapes.get(f.route);
    const decisions: Decisions = shape ? decisionsOf(shape, fields) : NO_DECISIONS;
    const pop = f.context.geo?.pop ?? null;
    if (pop !== null && this.pop === null && /^[A-Za-z0-9_.-]{1,32}$/.test(pop)) {
      this.pop = pop;
      if (this.exporter) this.exporter.resource['portico.pop'] = pop;
    }
    this.metrics?.record({ route: f.route, method: f.method, status, seconds: ms / 1000, fields, attempts, decisions });

    if (trace && this.exporter && (trace.sampled || status >= 500)) {
      this.exporter.offer(this.spans(f, trace, end, attempts, decisions));
    }
    if (this.exporter) this.exporter.maybeFlush((p) => f.context.waitUntil(p));

    if (f.route !== null && trace && (this.timed === true || this.timed.has(f.route.id))) {
      response.headers.set('server-timing', this.serverTiming(trace, end, fields));
    }
    if (f.route !== null && this.probeFrom.length > 0 && f.requestHeaders.get(PROBE_HEADER) === PROBE_VALUE) {
      if (within(this.probeFrom, f.clientAddress)) {
        response.headers.set('x-portico-route', f.route.id);
        response.headers.set('x-portico-region', oneOf(fields['region'], this.names.regions));
        response.headers.set('x-portico-origin', oneOf(fields['origin'], this.names.origins));
      }
    }

    const ratio = this.config?.successSampleRatio ?? 1;
    if (status < 400 && ratio < 1 && !(ratio > 0 && Math.random() < ratio)) return null;
    const length = response.headers.get('content-length');
    return accessRecord({
      time: f.time,
      level: f.level,
      requestId: f.requestId,
      traceId: trace?.traceId ?? null,
      method: f.method,
      path: f.path,
      route: f.route?.id ?? null,
      status,
      bytes: length !== null && /^\d+$/.test(length) ? Number(length) : null,
      ms,
      fields,
      attempts,
      limit: decisions.limit,
      authResult: decisions.auth,
      pop: this.pop !== null && pop === this.pop ? pop : null,
    });
  }

  /** `edge`, `auth`, `cache` and `origin` durations in milliseconds; descriptions from fixed words only. */
  private serverTiming(trace: RequestTrace, end: number, fields: Record<string, unknown>): string {
    let auth = -1;
    let cache = -1;
    let origin = -1;
    for (const s of trace.steps) {
      const d = s.endMs - s.startMs;
      if (s.phase === 'auth') auth = Math.max(auth, 0) + d;
      else if (s.phase === 'cache') cache = Math.max(cache, 0) + d;
      else if (s.phase === 'origin') origin = Math.max(origin, 0) + d;
    }
    const parts = [`edge;dur=${r1(end - trace.startMs)}`];
    if (auth >= 0) parts.push(`auth;dur=${r1(auth)}`);
    if (cache >= 0 || fields['cache'] !== undefined) {
      const status = oneOf(fields['cache'], CACHE_STATUSES);
      parts.push(`cache;dur=${r1(Math.max(cache, 0))}${status !== NONE ? `;desc="${status}"` : ''}`);
    }
    if (origin >= 0) parts.push(`origin;dur=${r1(origin)}`);
    return parts.join(', ');
  }

  /** The request's spans: the server span, one per timed step, one client span per origin attempt. */
  private spans(f: Finished, trace: RequestTrace, end: number, attempts: Attempt[], d: Decisions): SpanRecord[] {
    const status = f.response.status;
    const fields = f.fields;
    const method = methodLabel(f.method);
    const route = f.route;
    const attrs: Record<string, AttributeValue> = {
      'http.request.method': method === 'other' ? '_OTHER' : method,
      'http.response.status_code': status,
      'url.scheme': 'http',
      'portico.request_id': f.requestId,
    };
    if (f.path !== null) attrs['url.path'] = f.path;
    if (route) {
      attrs['http.route'] = route.pattern;
      attrs['portico.route'] = route.id;
    }
    if (fields['region'] !== undefined) attrs['portico.region'] = oneOf(fields['region'], this.names.regions);
    if (fields['origin'] !== undefined) attrs['portico.origin'] = oneOf(fields['origin'], this.names.origins);
    if (fields['cache'] !== undefined) attrs['portico.cache'] = oneOf(fields['cache'], CACHE_STATUSES);
    if (d.limit !== null) attrs['portico.rate_limit'] = d.limit;
    if (d.auth !== null) attrs['portico.auth'] = d.auth;
    if (this.pop !== null) attrs['portico.pop'] = this.pop;
    if (status >= 500) attrs['error.type'] = typeof fields['code'] === 'string' ? fields['code'] : String(status);
    const spans: SpanRecord[] = [
      {
        traceId: trace.traceId,
        spanId: trace.spanId,
        parentSpanId: trace.parentSpanId,
        name: route ? `${attrs['http.request.method']} ${route.pattern}` : String(attrs['http.request.method']),
        kind: SPAN_KIND.server,
        startMs: trace.startMs,
        endMs: end,
        attributes: attrs,
        status: status >= 500 ? STATUS_CODE.error : STATUS_CODE.unset,
      },
    ];
    for (const s of trace.steps) {
      const upstream = s.phase === 'origin';
      spans.push({
        traceId: trace.traceId,
        spanId: upstream ? trace.upstreamSpanId : newSpanId(),
        parentSpanId: trace.spanId,
        name: s.name,
        kind: SPAN_KIND.internal,
        startMs: s.startMs,
        endMs: s.endMs,
        attributes: {},
        status: STATUS_CODE.unset,
      });
      if (!upstream) continue;
      // The attempts, in the order tried: each starts when the upstream step began it and lasts
      // what it measured there (kept inside the upstream span: the step's clock is Date.now's
      // milliseconds, the span's finer). One recorded without its start is laid after the last.
      let at = s.startMs;
      for (const a of attempts) {
        const known = a.ms >= 0;
        const began = a.startMs === undefined ? at : Math.min(Math.max(a.startMs, s.startMs), s.endMs);
        const startMs = known ? began : s.startMs;
        const endMs = known ? Math.min(Math.max(began + a.ms, began), s.endMs) : s.endMs;
        at = endMs;
        const host = this.originHosts.get(a.origin);
        const attributes: Record<string, AttributeValue> = {
          'http.request.method': attrs['http.request.method'] as string,
          'portico.origin': a.origin,
          'portico.region': a.region,
          'portico.outcome': a.outcome,
        };
        if (host) {
          attributes['server.address'] = host.address;
          attributes['server.port'] = host.port;
        }
        if (a.status !== undefined) attributes['http.response.status_code'] = a.status;
        spans.push({
          traceId: trace.traceId,
          spanId: newSpanId(),
          parentSpanId: trace.upstreamSpanId,
          name: String(attrs['http.request.method']),
          kind: SPAN_KIND.client,
          startMs,
          endMs,
          attributes,
          status: a.outcome === 'ok' ? STATUS_CODE.unset : STATUS_CODE.error,
        });
      }
    }
    return spans;
  }
}
