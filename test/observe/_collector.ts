/**
 * A loopback OTLP/HTTP JSON receiver: it decodes what arrives at /v1/traces and /v1/metrics with
 * opentelemetry-proto's definitions (`_otlp-json.ts`: a misnamed, mistyped or unknown field is
 * refused) and keeps the decoded messages, typed by the definitions' generated types. It answers
 * as a collector does: 200 with an empty export response, 400 for a body it cannot decode, 415
 * for a body that is not JSON. `mode` makes it refuse (503) or hang (accept, never answer) to act
 * as a collector that is down.
 *
 * A refused body is also kept in `rejected`, and reading `traces`, `metrics` or `spans()` then
 * throws with the fault, so no test can pass on a body a collector would not take.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { opentelemetry } from '@elastic/mockotlpserver/lib/types-proto';
import type { IExportTraceServiceResponse } from '@opentelemetry/otlp-transformer';
import { decodeOtlpJson, METRICS_REQUEST, OtlpJsonError, TRACE_REQUEST } from './_otlp-json.ts';

export { hex } from './_otlp-json.ts';

export type ExportTraceRequest = opentelemetry.proto.collector.trace.v1.IExportTraceServiceRequest;
export type ExportMetricsRequest = opentelemetry.proto.collector.metrics.v1.IExportMetricsServiceRequest;
export type OtlpSpan = opentelemetry.proto.trace.v1.ISpan;
export type OtlpKeyValue = opentelemetry.proto.common.v1.IKeyValue;

export interface Collector {
  url: string;
  readonly traces: ExportTraceRequest[];
  readonly metrics: ExportMetricsRequest[];
  /** Bodies refused as undecodable, with the fault. */
  readonly rejected: string[];
  /** `throttle`: 429 with `retryAfter` as Retry-After. */
  mode: 'ok' | 'refuse' | 'hang' | 'throttle';
  retryAfter: string;
  /** Requests that arrived, answered or not. */
  arrived: number;
  /** When each request arrived (performance.now(), milliseconds). */
  readonly arrivals: number[];
  spans(): OtlpSpan[];
  /** Forgets what arrived and answers again. */
  reset(): void;
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  const hanging = new Set<ServerResponse>();
  const traces: ExportTraceRequest[] = [];
  const metrics: ExportMetricsRequest[] = [];
  const rejected: string[] = [];
  const arrivals: number[] = [];
  const checked = <T>(list: T): T => {
    if (rejected.length > 0) throw new Error(`the collector refused ${rejected.length} bodies; first: ${rejected[0]}`);
    return list;
  };
  const c: Collector = {
    url: '',
    get traces() {
      return checked(traces);
    },
    get metrics() {
      return checked(metrics);
    },
    rejected,
    mode: 'ok',
    retryAfter: '1',
    arrived: 0,
    arrivals,
    spans: () =>
      checked(traces).flatMap((t) => (t.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []))),
    reset() {
      traces.length = 0;
      metrics.length = 0;
      rejected.length = 0;
      arrivals.length = 0;
      c.arrived = 0;
      c.mode = 'ok';
      c.retryAfter = '1';
    },
    close: () =>
      new Promise<void>((r) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  const server: Server = createServer((req, res) => {
    c.arrived++;
    arrivals.push(performance.now());
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      if (c.mode === 'hang') return void hanging.add(res);
      if (c.mode === 'refuse') return void res.writeHead(503).end();
      if (c.mode === 'throttle') return void res.writeHead(429, { 'retry-after': c.retryAfter }).end();
      const type = req.url === '/v1/traces' ? TRACE_REQUEST : req.url === '/v1/metrics' ? METRICS_REQUEST : undefined;
      if (!type) return void res.writeHead(404).end();
      if (req.headers['content-type']?.split(';')[0]?.trim() !== 'application/json') {
        rejected.push(`${req.url}: content-type ${req.headers['content-type']} is not application/json`);
        return void res.writeHead(415).end();
      }
      try {
        const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        if (type === TRACE_REQUEST) traces.push(decodeOtlpJson<ExportTraceRequest>(type, json));
        else metrics.push(decodeOtlpJson<ExportMetricsRequest>(type, json));
      } catch (e) {
        const fault = e instanceof OtlpJsonError || e instanceof SyntaxError ? e.message : String(e);
        rejected.push(`${req.url}: ${fault}`);
        return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 3, message: fault }));
      }
      const answer: IExportTraceServiceResponse = {};
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  c.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return c;
}

/** An attribute's value as a plain value (64-bit integers as numbers). */
export function attr(list: OtlpKeyValue[] | null | undefined, key: string): string | number | boolean | undefined {
  const v = list?.find((a) => a.key === key)?.value;
  // Decoded messages carry their oneof's name: `value` says which of its fields is set.
  const which = (v as { value?: string } | null | undefined)?.value;
  if (!v || !which) return undefined;
  if (which === 'intValue') return Number(String(v.intValue));
  const plain = v[which as 'stringValue' | 'doubleValue' | 'boolValue'];
  return plain ?? undefined;
}

/** A 64-bit integer of a decoded message (a Long or a number) as a bigint. */
export function big(v: { toString(): string } | number | null | undefined): bigint {
  return BigInt(String(v ?? 0));
}
