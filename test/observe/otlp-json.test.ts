/**
 * The receiver's decoding is what the push tests lean on, so it is held here to opentelemetry-
 * proto's definitions and OTLP/JSON's rules: core's encodings of spans and of every metric kind
 * decode, and a body with one fault (a misnamed or unknown field, a 64-bit integer as a number,
 * a base64 or all-zero id, an enum by name, two members of a oneof) is refused at the faulty path.
 */
import { describe, expect, it } from 'vitest';
import { encodeMetrics, encodeSpans, Registry } from '../../core/observe/index.ts';
import type { SpanRecord } from '../../core/observe/span.ts';
import { attr, big, type ExportMetricsRequest, type ExportTraceRequest, hex } from './_collector.ts';
import { decodeOtlpJson, METRICS_REQUEST, OtlpJsonError, TRACE_REQUEST } from './_otlp-json.ts';

const SPAN: SpanRecord = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  parentSpanId: 'b7ad6b7169203331',
  name: 'GET /api/*',
  kind: 2,
  startMs: 1_764_000_000_000.25,
  endMs: 1_764_000_000_003.5,
  attributes: { 'http.route': '/api/*', 'http.response.status_code': 200, ratio: 0.5, cached: false },
  status: 2,
};

function traceBody(): { resourceSpans: [{ scopeSpans: [{ spans: Record<string, unknown>[] }] }] } {
  return JSON.parse(encodeSpans([SPAN], { 'service.name': 'portico' }));
}

function refusal(type: typeof TRACE_REQUEST, body: unknown): string {
  try {
    decodeOtlpJson(type, body);
  } catch (e) {
    if (e instanceof OtlpJsonError) return e.message;
    throw e;
  }
  return 'accepted';
}

describe('OTLP/JSON decoding in the test receiver', () => {
  it("decodes core's span encoding into the proto's message, ids and times intact", () => {
    const decoded = decodeOtlpJson<ExportTraceRequest>(TRACE_REQUEST, traceBody());
    const span = decoded.resourceSpans?.[0]?.scopeSpans?.[0]?.spans?.[0];
    expect(hex(span?.traceId)).toBe(SPAN.traceId);
    expect(hex(span?.spanId)).toBe(SPAN.spanId);
    expect(hex(span?.parentSpanId)).toBe(SPAN.parentSpanId);
    expect(big(span?.startTimeUnixNano)).toBe(1_764_000_000_000_250_000n);
    expect(big(span?.endTimeUnixNano)).toBe(1_764_000_000_003_500_000n);
    expect(span?.kind).toBe(2);
    expect(span?.status?.code).toBe(2);
    expect(attr(span?.attributes, 'http.route')).toBe('/api/*');
    expect(attr(span?.attributes, 'http.response.status_code')).toBe(200);
    expect(attr(span?.attributes, 'ratio')).toBe(0.5);
    expect(attr(span?.attributes, 'cached')).toBe(false);
    expect(attr(decoded.resourceSpans?.[0]?.resource?.attributes, 'service.name')).toBe('portico');
    // What decodes also encodes as OTLP protobuf and reads back the same.
    const again = TRACE_REQUEST.decode(TRACE_REQUEST.encode(decoded as never).finish()) as ExportTraceRequest;
    expect(hex(again.resourceSpans?.[0]?.scopeSpans?.[0]?.spans?.[0]?.traceId)).toBe(SPAN.traceId);
  });

  it("decodes core's metrics encoding: a cumulative sum, a gauge, an info gauge and a histogram", () => {
    let t = 1_764_000_000_000;
    const registry = new Registry(() => t);
    registry.counter('portico_requests', 'Requests.', ['route']).inc(['api'], 3);
    registry.gauge('portico_inflight', 'In flight.').set([], 2);
    registry.info('portico_build', 'Build.', ['version']).set(['1'], 1);
    registry.histogram('portico_request_duration_seconds', 'Duration.', ['route'], [0.01, 0.1]).observe(['api'], 0.05);
    t += 1500;
    const decoded = decodeOtlpJson<ExportMetricsRequest>(METRICS_REQUEST, JSON.parse(encodeMetrics(registry, {}, t)));
    const metrics = decoded.resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics ?? [];
    const sum = metrics.find((m) => m.name === 'portico_requests')?.sum;
    expect(sum?.aggregationTemporality).toBe(2);
    expect(sum?.isMonotonic).toBe(true);
    expect(sum?.dataPoints?.[0]?.asDouble).toBe(3);
    expect(big(sum?.dataPoints?.[0]?.timeUnixNano) - big(sum?.dataPoints?.[0]?.startTimeUnixNano)).toBe(1_500_000_000n);
    expect(metrics.find((m) => m.name === 'portico_inflight')?.gauge?.dataPoints?.[0]?.asDouble).toBe(2);
    expect(metrics.find((m) => m.name === 'portico_build_info')?.gauge?.dataPoints).toHaveLength(1);
    const histogram = metrics.find((m) => m.name === 'portico_request_duration_seconds')?.histogram?.dataPoints?.[0];
    expect(big(histogram?.count)).toBe(1n);
    expect(histogram?.bucketCounts?.map((c) => String(c))).toEqual(['0', '1', '0']);
    expect(histogram?.explicitBounds).toEqual([0.01, 0.1]);
  });

  it('refuses a body with one fault, naming where', () => {
    const at = 'ExportTraceServiceRequest.resourceSpans[0].scopeSpans[0].spans[0]';
    const faults: [string, (span: Record<string, unknown>) => void, string][] = [
      [
        'a proto field name',
        (s) => Object.assign(s, { trace_id: SPAN.traceId }),
        `${at}.trace_id: OTLP/JSON keys are lowerCamelCase: traceId`,
      ],
      ['an unknown field', (s) => Object.assign(s, { durationMs: 3 }), `${at}.durationMs: Span has no field durationMs`],
      [
        'a 64-bit time as a number',
        (s) => Object.assign(s, { startTimeUnixNano: 1_764_000_000 }),
        `${at}.startTimeUnixNano: fixed64 wants`,
      ],
      [
        'a base64 trace id',
        (s) => Object.assign(s, { traceId: 'S/k/NXe3TW2jzpKdDg5HNg==' }),
        `${at}.traceId: bytes wants 32 hex digits`,
      ],
      ['a short span id', (s) => Object.assign(s, { spanId: '00f067aa' }), `${at}.spanId: bytes wants 16 hex digits`],
      ['an all-zero trace id', (s) => Object.assign(s, { traceId: '0'.repeat(32) }), `${at}.traceId: traceId is all zeroes`],
      ['an enum by name', (s) => Object.assign(s, { kind: 'SPAN_KIND_SERVER' }), `${at}.kind: enums are integers`],
      ['an enum value that does not exist', (s) => Object.assign(s, { kind: 9 }), `${at}.kind: 9 is not a value of SpanKind`],
      ['a null', (s) => Object.assign(s, { status: null }), `${at}.status: null`],
      ['a string where an object goes', (s) => Object.assign(s, { status: 'error' }), `${at}.status: Status wants an object`],
      [
        'two members of a oneof',
        (s) => Object.assign(s, { attributes: [{ key: 'k', value: { stringValue: 'a', boolValue: true } }] }),
        `${at}.attributes[0].value.boolValue: boolValue and stringValue are one of value`,
      ],
      [
        'a 64-bit attribute as a number',
        (s) => Object.assign(s, { attributes: [{ key: 'k', value: { intValue: 200 } }] }),
        `${at}.attributes[0].value.intValue: int64 wants a decimal string`,
      ],
    ];
    for (const [what, spoil, message] of faults) {
      const body = traceBody();
      spoil(body.resourceSpans[0].scopeSpans[0].spans[0] as Record<string, unknown>);
      expect(refusal(TRACE_REQUEST, body), what).toContain(message);
    }
    expect(refusal(METRICS_REQUEST, { resourceMetrics: {} })).toBe(
      'ExportMetricsServiceRequest.resourceMetrics: a repeated ResourceMetrics wants an array, got object {}',
    );
  });
});
