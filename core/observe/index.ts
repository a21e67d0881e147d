/** Observation: metrics, traces, access logs (see observer.ts). */
export { Observer, PROBE_HEADER, PROBE_VALUE, type Finished, type ObserverOptions } from './observer.ts';
export { RequestTrace, timePolicy } from './request-trace.ts';
export { GatewayMetrics, BREAKER_STATE_VALUE } from './gateway-metrics.ts';
export { Registry, Counter, Gauge, Histogram, EDGE_LATENCY_BUCKETS } from './registry.ts';
export { encodePrometheus, negotiateFormat, TEXT_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE } from './prometheus.ts';
export { encodeMetrics, encodeSpans } from './otlp.ts';
export { OtlpExporter } from './exporter.ts';
export { ObservabilitySchema, compileObservability, type CompiledObservability } from './config.ts';
export { parseTraceParent, formatTraceParent } from './trace-context.ts';
