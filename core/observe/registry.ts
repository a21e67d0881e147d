/**
 * The metrics registry: counters, gauges and histograms with a fixed list of label names each,
 * kept in memory and read by the encoders (Prometheus text, OpenMetrics, OTLP/HTTP JSON).
 *
 * Why not prom-client: it imports `node:cluster`, `node:v8` and `perf_hooks` at load time and
 * keeps its registry behind Node's event loop timers, so it cannot run in core, which runs on
 * Workers, Vercel Edge, Fastly and WASI too. The OpenTelemetry metrics SDK runs there but
 * brings several hundred kilobytes for what is here a few maps and two text formats, so the
 * small registry and encoders are ours.
 *
 * Label values must come from fixed sets or from the config (route ids, origin and region
 * names): the callers map everything else to one of a few words. Series are keyed by their
 * label values joined with a separator no config name can hold.
 *
 * On the request path the callers hold series handles (`Counter.handle`, `Histogram.handle`)
 * made once per label tuple and kept by small integer indexes (gateway-metrics.ts), so that a
 * request adds to numbers and builds no key strings and no label arrays (bench/README.md,
 * `observe.ts`).
 */

/** Separator of label values in a series key (config names are `[A-Za-z0-9_.-]`). */
const SEP = '\u0001';

function keyOf(values: readonly string[]): string {
  return values.length === 0 ? '' : values.length === 1 ? (values[0] as string) : values.join(SEP);
}

export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'info';

export interface Series {
  labels: readonly string[];
  value: number;
}

export interface HistogramSeries {
  labels: readonly string[];
  /** Count per bucket, not cumulative; one more than the bounds (the +Inf bucket). */
  counts: number[];
  sum: number;
  count: number;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: MetricKind;
  readonly labelNames: readonly string[];
}

/** A monotonically increasing count. `name` is the family name, without `_total`. */
export class Counter implements Family {
  readonly kind = 'counter' as const;
  readonly series = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** Adds `by` (default 1) to the series of these label values, in the order of `labelNames`. */
  inc(values: readonly string[], by = 1): void {
    this.handle(values).value += by;
  }

  /**
   * The series of these label values, made (at 0) when new: a handle to add to directly
   * (`handle.value += 1`) where the same labels come back on every request.
   */
  handle(values: readonly string[]): Series {
    const key = keyOf(values);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: values.slice(), value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  /** The value of one series (0 when it has none), for tests and `explain`. */
  get(values: readonly string[]): number {
    return this.series.get(keyOf(values))?.value ?? 0;
  }
}

/** A value that goes up and down. */
export class Gauge implements Family {
  readonly kind: 'gauge' | 'info' = 'gauge';
  readonly series = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  set(values: readonly string[], value: number): void {
    this.handle(values).value = value;
  }

  add(values: readonly string[], by: number): void {
    this.handle(values).value += by;
  }

  /** The series of these label values (made at 0 when new), to set or add to directly. */
  handle(values: readonly string[]): Series {
    const key = keyOf(values);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: values.slice(), value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  get(values: readonly string[]): number {
    return this.series.get(keyOf(values))?.value ?? 0;
  }
}

/** An info metric (OpenMetrics `info`; a gauge of 1 in text 0.0.4): labels that describe the process. */
export class Info extends Gauge {
  override readonly kind = 'info' as const;
}

/** Observations counted into fixed buckets (upper bounds, ascending, in the metric's unit). */
export class Histogram implements Family {
  readonly kind = 'histogram' as const;
  readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly bounds: readonly number[],
  ) {}

  observe(values: readonly string[], value: number): void {
    this.observeInto(this.handle(values), value);
  }

  /** The series of these label values, made empty when new (see Counter.handle). */
  handle(values: readonly string[]): HistogramSeries {
    const key = keyOf(values);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: values.slice(), counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  /**
   * Counts `value` into a series of this histogram. The bounds are searched from the smallest:
   * edge latencies sit in the first few buckets, where a linear search stops sooner than a
   * binary one would.
   */
  observeInto(s: HistogramSeries, value: number): void {
    const bounds = this.bounds;
    const n = bounds.length;
    let i = 0;
    while (i < n && value > (bounds[i] as number)) i++;
    s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += value;
    s.count++;
  }
}

export type Metric = Counter | Gauge | Histogram;

/**
 * Latency buckets in seconds, for an edge gateway: most answers take 1 to 50 ms at the edge
 * (cache hits and refusals well under 1 ms), an origin across an ocean 100 to 300 ms, and a
 * failover or a timeout seconds.
 */
export const EDGE_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/** Metric and label names (Prometheus data model). */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The metrics of one gateway, in registration order (the order of the exposition). */
export class Registry {
  readonly metrics: Metric[] = [];
  /** Called before every read, for values that are read rather than counted (bytes held...). */
  readonly collectors: (() => void)[] = [];
  /** Milliseconds since the epoch when the registry was made: the start of every cumulative series. */
  readonly startMs: number;

  constructor(now: () => number) {
    this.startMs = now();
  }

  private add<M extends Metric>(metric: M): M {
    if (!METRIC_NAME.test(metric.name)) throw new Error(`invalid metric name "${metric.name}"`);
    for (const l of metric.labelNames) if (!LABEL_NAME.test(l)) throw new Error(`invalid label name "${l}"`);
    if (this.metrics.some((m) => m.name === metric.name)) throw new Error(`metric "${metric.name}" registered twice`);
    this.metrics.push(metric);
    return metric;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  info(name: string, help: string, labelNames: readonly string[]): Info {
    return this.add(new Info(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, bounds));
  }

  /** Runs the collectors: call before reading the series. */
  collect(): void {
    for (const c of this.collectors) c();
  }
}
