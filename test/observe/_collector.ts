/**
 * A loopback OTLP/HTTP JSON receiver: it keeps what arrives at /v1/traces and /v1/metrics, and
 * answers as a collector does (200 with an empty ExportTraceServiceResponse). `mode` makes it
 * refuse (503) or hang (accept, never answer) to act as a collector that is down.
 *
 * The request bodies are read against the opentelemetry-proto JSON shapes below: the
 * otlp-transformer package (0.301) exports the response types and serializers but no longer
 * the request types, so the request's fields are named here as opentelemetry-proto names them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IExportTraceServiceResponse } from '@opentelemetry/otlp-transformer';

export interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
}
export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  status: { code: number };
}
export interface ExportTraceRequest {
  resourceSpans: { resource: { attributes: OtlpKeyValue[] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[];
}
export interface ExportMetricsRequest {
  resourceMetrics: {
    resource: { attributes: OtlpKeyValue[] };
    scopeMetrics: {
      metrics: {
        name: string;
        sum?: {
          dataPoints: { attributes: OtlpKeyValue[]; asDouble: number }[];
          isMonotonic: boolean;
          aggregationTemporality: number;
        };
        gauge?: { dataPoints: { attributes: OtlpKeyValue[]; asDouble: number }[] };
        histogram?: { dataPoints: { count: string; bucketCounts: string[]; explicitBounds: number[] }[] };
      }[];
    }[];
  }[];
}

export interface Collector {
  url: string;
  traces: ExportTraceRequest[];
  metrics: ExportMetricsRequest[];
  mode: 'ok' | 'refuse' | 'hang';
  /** Requests that arrived, answered or not. */
  arrived: number;
  spans(): OtlpSpan[];
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  const hanging = new Set<import('node:http').ServerResponse>();
  const c: Collector = {
    url: '',
    traces: [],
    metrics: [],
    mode: 'ok',
    arrived: 0,
    spans: () => c.traces.flatMap((t) => t.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))),
    close: () =>
      new Promise<void>((r) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  const server: Server = createServer((req, res) => {
    c.arrived++;
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      if (c.mode === 'hang') return void hanging.add(res);
      if (c.mode === 'refuse') return void res.writeHead(503).end();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      if (req.url === '/v1/traces') c.traces.push(body as ExportTraceRequest);
      else if (req.url === '/v1/metrics') c.metrics.push(body as ExportMetricsRequest);
      const answer: IExportTraceServiceResponse = {};
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  c.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return c;
}

/** An attribute's value as a plain value. */
export function attr(list: OtlpKeyValue[], key: string): string | number | boolean | undefined {
  const v = list.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue));
}
