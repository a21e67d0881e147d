/**
 * Spans as portico records them: plain objects in the shape OTLP/HTTP JSON sends
 * (opentelemetry-proto `trace.v1.Span`, ids in hex), made at the end of a request from what it
 * did. Only sampled requests (and every error) are kept; see observer.ts.
 */

/** OTLP `Span.SpanKind`. */
export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;
/** OTLP `Status.StatusCode`. */
export const STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;

export type AttributeValue = string | number | boolean;

export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  /** Milliseconds since the epoch, with a fraction. */
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  status: number;
}

/** One timed step of a request (a policy's work, the upstream step), recorded as it runs. */
export interface StepTiming {
  /** Span name: `auth.jwt`, `ratelimit`, `cache.lookup`, `cache.store`, `upstream`. */
  name: string;
  /** Phase of the step (`auth`, `cache`...), what Server-Timing groups by. */
  phase: string;
  startMs: number;
  endMs: number;
}
