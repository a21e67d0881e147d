/**
 * OTLP/HTTP JSON bodies (opentelemetry-proto 1.x, JSON encoding): `ExportTraceServiceRequest`
 * for `/v1/traces` and `ExportMetricsServiceRequest` for `/v1/metrics`. JSON rather than
 * protobuf: every runtime has `JSON.stringify`, and a protobuf writer would be a dependency or
 * several hundred lines here. Per the OTLP spec's JSON mapping, trace and span ids are hex,
 * 64-bit integers (times, counts) are decimal strings, and enums are numbers.
 *
 * The tests' receiver decodes these bodies with opentelemetry-proto's own definitions and those
 * rules (test/observe/_otlp-json.ts). The shapes here are not imported from there: the official
 * generated types describe the protobuf message (ids as bytes, times as Long), not the JSON
 * form, and no OpenTelemetry package exports JSON-form request types any more.
 */
import type { Metric, Registry } from './registry.ts';
import type { AttributeValue, SpanRecord } from './span.ts';

/** Name and version of the instrumentation scope. */
export const SCOPE = { name: 'portico', version: '1' } as const;

/** OTLP `AggregationTemporality.CUMULATIVE`: counts since the registry began (an isolate's start). */
const CUMULATIVE = 2;

export interface OtlpAttribute {
  key: string;
  value: { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
}

function attributeValue(v: AttributeValue): OtlpAttribute['value'] {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

export function attributes(record: Record<string, AttributeValue>): OtlpAttribute[] {
  const out: OtlpAttribute[] = [];
  for (const key in record) out.push({ key, value: attributeValue(record[key] as AttributeValue) });
  return out;
}

/** Milliseconds since the epoch (with a fraction) as OTLP's nanoseconds, a decimal string (beyond 2^53). */
export function unixNano(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.min(999_999, Math.round((ms - whole) * 1e6));
  return `${whole}${String(frac).padStart(6, '0')}`;
}

/** The trace export body of some spans, for one resource. */
export function encodeSpans(spans: readonly SpanRecord[], resource: Record<string, AttributeValue>): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: attributes(resource) },
        scopeSpans: [
          {
            scope: SCOPE,
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: unixNano(s.startMs),
              endTimeUnixNano: unixNano(s.endMs),
              attributes: attributes(s.attributes),
              status: { code: s.status },
            })),
          },
        ],
      },
    ],
  });
}

function labelAttributes(names: readonly string[], values: readonly string[]): OtlpAttribute[] {
  return names.map((key, i) => ({ key, value: { stringValue: values[i] ?? '' } }));
}

function metricJson(m: Metric, start: string, time: string): unknown {
  if (m.kind === 'histogram') {
    return {
      name: m.name,
      description: m.help,
      unit: 's',
      histogram: {
        aggregationTemporality: CUMULATIVE,
        dataPoints: [...m.series.values()].map((s) => ({
          attributes: labelAttributes(m.labelNames, s.labels),
          startTimeUnixNano: start,
          timeUnixNano: time,
          count: String(s.count),
          sum: s.sum,
          bucketCounts: s.counts.map(String),
          explicitBounds: m.bounds.slice(),
        })),
      },
    };
  }
  const points = [...m.series.values()].map((s) => ({
    attributes: labelAttributes(m.labelNames, s.labels),
    startTimeUnixNano: start,
    timeUnixNano: time,
    asDouble: s.value,
  }));
  if (m.kind === 'counter') {
    return {
      name: m.name,
      description: m.help,
      sum: { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints: points },
    };
  }
  return { name: m.kind === 'info' ? `${m.name}_info` : m.name, description: m.help, gauge: { dataPoints: points } };
}

/** The metrics export body of a registry's current values (cumulative), for one resource. */
export function encodeMetrics(registry: Registry, resource: Record<string, AttributeValue>, nowMs: number): string {
  registry.collect();
  const start = unixNano(registry.startMs);
  const time = unixNano(nowMs);
  const metrics = registry.metrics.filter((m) => m.series.size > 0).map((m) => metricJson(m, start, time));
  return JSON.stringify({
    resourceMetrics: [{ resource: { attributes: attributes(resource) }, scopeMetrics: [{ scope: SCOPE, metrics }] }],
  });
}
