/**
 * The top-level `observability` block: metrics exposition, access-log sampling, tracing, OTLP
 * push, Server-Timing and synthetic probes. Checked by valibot (the schema) and then here
 * against the rest of the config (route ids, the admin block, CIDR ranges), every problem with
 * its path.
 */
import * as v from 'valibot';
import type { ConfigIssue } from '../errors.ts';
import { parseCidr } from '../http/ip.ts';
import { headerName, headerValue, NAME, positiveMs, secretRef, wholeNumber } from '../config/primitives.ts';
import type { SecretRef } from '../pipeline/policy.ts';

const ratio = (field: string) =>
  v.pipe(
    v.number(`expected ${field} as a number from 0 to 1`),
    v.minValue(0, `expected ${field} from 0 to 1`),
    v.maxValue(1, `expected ${field} from 0 to 1`),
  );
const cidrs = v.array(v.string('expected an IP address or CIDR range (string)'), 'expected an array of CIDR ranges');

export const ObservabilitySchema = v.strictObject(
  {
    /** Service name in OTLP resources, default `portico`. */
    serviceName: v.optional(
      v.pipe(v.string('expected a service name (string)'), v.regex(NAME, 'expected a name of letters, digits, _ . -')),
    ),
    /** Prometheus exposition, authenticated with the admin token (the `admin` block). */
    metrics: v.optional(
      v.strictObject(
        {
          /** Path of the exposition, default `/metrics`. */
          path: v.optional(
            v.pipe(v.string('expected a path (string)'), v.regex(/^\/[A-Za-z0-9_./-]*$/, 'expected a path such as /metrics')),
          ),
        },
        'expected { path? }',
      ),
    ),
    accessLog: v.optional(
      v.strictObject(
        {
          /** Share of successful requests (status below 400) that get a line, 0 to 1, default 1. Others always do. */
          successSampleRatio: v.optional(ratio('successSampleRatio')),
        },
        'expected { successSampleRatio? }',
      ),
    ),
    tracing: v.optional(
      v.strictObject(
        {
          /** Share of requests whose spans are kept, 0 to 1, default 0.1. Errors (5xx) are always kept. */
          sampleRatio: v.optional(ratio('sampleRatio')),
          /**
           * Callers (addresses or CIDR ranges) whose traceparent and tracestate are taken; from
           * anyone else they are replaced. Trusted proxies (trustedProxies) are trusted here too.
           */
          trustedCallers: v.optional(cidrs),
        },
        'expected { sampleRatio?, trustedCallers? }',
      ),
    ),
    /** OTLP/HTTP JSON push of spans and metrics (what isolates, which cannot be scraped, use). */
    otlp: v.optional(
      v.strictObject(
        {
          /** Base URL of the collector's OTLP/HTTP receiver, e.g. http://collector:4318 (`/v1/traces`, `/v1/metrics` are added). */
          endpoint: v.pipe(v.string('expected a URL (string)'), v.url('expected an absolute URL such as http://collector:4318')),
          /** Extra request headers (a collector's auth): a value, or { "env": NAME } for a secret. */
          headers: v.optional(
            v.record(headerName, v.union([headerValue, secretRef], 'expected a header value or { "env": NAME }')),
          ),
          /** Push interval in milliseconds, default 10000. Pushes ride on requests (waitUntil): an idle isolate sends nothing. */
          intervalMs: v.optional(positiveMs('intervalMs')),
          /** Spans per push, default 512. */
          maxBatch: v.optional(wholeNumber('maxBatch', 'spans', 1, 10_000)),
          /** Spans waiting at most, default 2048; more are dropped (and counted). */
          maxQueue: v.optional(wholeNumber('maxQueue', 'spans', 1, 100_000)),
          /** Timeout of one push in milliseconds, default 5000. */
          timeoutMs: v.optional(positiveMs('timeoutMs')),
          /** Which signals to push, default both. */
          signals: v.optional(v.array(v.picklist(['traces', 'metrics'], 'expected "traces" or "metrics"'))),
        },
        'expected { endpoint, headers?, intervalMs?, maxBatch?, maxQueue?, timeoutMs?, signals? }',
      ),
    ),
    /** Route ids whose responses carry Server-Timing (edge, auth, cache, origin), or true for all. */
    serverTiming: v.optional(
      v.union([v.boolean(), v.array(v.string('expected a route id (string)'))], 'expected true, false or an array of route ids'),
    ),
    /**
     * Synthetic probes: a request with `X-Probe-Source: synthetic-monitor` from one of these
     * addresses (after trusted-proxy resolution) gets X-Portico-Route, -Region and -Origin.
     */
    probes: v.optional(v.strictObject({ from: cidrs }, 'expected { from: [CIDR ranges] }')),
  },
  'expected an observability block { metrics?, accessLog?, tracing?, otlp?, serverTiming?, probes?, serviceName? }',
);

export type ObservabilityBlock = v.InferOutput<typeof ObservabilitySchema>;

export interface CompiledOtlp {
  endpoint: string;
  headers: Record<string, string | SecretRef>;
  intervalMs: number;
  maxBatch: number;
  maxQueue: number;
  timeoutMs: number;
  traces: boolean;
  metrics: boolean;
}

export interface CompiledObservability {
  serviceName: string;
  /** The exposition, when on: its path and the admin token's reference. */
  metrics: { path: string; token: SecretRef } | null;
  successSampleRatio: number;
  sampleRatio: number;
  trustedCallers: string[];
  otlp: CompiledOtlp | null;
  /** Route ids with Server-Timing; `true`: every route. */
  serverTiming: string[] | true;
  probeFrom: string[];
}

export const DEFAULT_SAMPLE_RATIO = 0.1;

function checkCidrs(list: readonly string[], at: string, issues: ConfigIssue[]): string[] {
  const out: string[] = [];
  list.forEach((text, i) => {
    if (parseCidr(text)) out.push(text);
    else issues.push({ path: `${at}[${i}]`, message: `expected an IP address or CIDR range, got "${text}"` });
  });
  return out;
}

/**
 * The block against the rest of the config. `routes` are the compiled routes' ids and exact
 * paths; `admin` the admin block's token reference, when there is one.
 */
export function compileObservability(
  block: ObservabilityBlock | undefined,
  routes: readonly { id: string; kind: string; pattern: string }[],
  admin: SecretRef | null,
  issues: ConfigIssue[],
): CompiledObservability | null {
  if (block === undefined) return null;
  let metrics: CompiledObservability['metrics'] = null;
  if (block.metrics) {
    const path = block.metrics.path ?? '/metrics';
    if (admin === null) {
      issues.push({
        path: 'observability.metrics',
        message: 'the metrics endpoint is authenticated with the admin token: add an admin block { token: { "env": "NAME" } }',
      });
    }
    if (path === '/health' || path === '/ready' || path.startsWith('/_portico/')) {
      issues.push({ path: 'observability.metrics.path', message: `${path} is reserved for the gateway's own endpoints` });
    }
    const taken = routes.find((r) => r.kind === 'exact' && r.pattern === path);
    if (taken) issues.push({ path: 'observability.metrics.path', message: `${path} is the path of route "${taken.id}"` });
    if (admin !== null) metrics = { path, token: admin };
  }
  let serverTiming: string[] | true = [];
  if (block.serverTiming === true) serverTiming = true;
  else if (Array.isArray(block.serverTiming)) {
    const ids = routes.map((r) => r.id);
    block.serverTiming.forEach((id, i) => {
      if (!ids.includes(id)) {
        issues.push({ path: `observability.serverTiming[${i}]`, message: `unknown route "${id}" (routes: ${ids.join(', ')})` });
      }
    });
    serverTiming = [...new Set(block.serverTiming)];
  }
  const o = block.otlp;
  if (o && !/^https?:\/\//i.test(o.endpoint)) {
    issues.push({ path: 'observability.otlp.endpoint', message: 'expected an http:// or https:// URL' });
  }
  const signals = o?.signals ?? ['traces', 'metrics'];
  return {
    serviceName: block.serviceName ?? 'portico',
    metrics,
    successSampleRatio: block.accessLog?.successSampleRatio ?? 1,
    sampleRatio: block.tracing?.sampleRatio ?? DEFAULT_SAMPLE_RATIO,
    trustedCallers: checkCidrs(block.tracing?.trustedCallers ?? [], 'observability.tracing.trustedCallers', issues),
    otlp: o
      ? {
          endpoint: o.endpoint.replace(/\/+$/, ''),
          headers: Object.fromEntries(
            Object.entries(o.headers ?? {}).map(([k, val]) => [
              k.toLowerCase(),
              typeof val === 'string' ? val : { env: val.env },
            ]),
          ),
          intervalMs: o.intervalMs ?? 10_000,
          maxBatch: o.maxBatch ?? 512,
          maxQueue: o.maxQueue ?? 2048,
          timeoutMs: o.timeoutMs ?? 5000,
          traces: signals.includes('traces'),
          metrics: signals.includes('metrics'),
        }
      : null,
    serverTiming,
    probeFrom: checkCidrs(block.probes?.from ?? [], 'observability.probes.from', issues),
  };
}
