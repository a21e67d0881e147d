/**
 * The OTLP/HTTP push: spans wait in a bounded queue and go out in batches, metrics as a
 * snapshot of the registry, both from `waitUntil` at the end of a request, never on its path.
 *
 * - At most one push is under way at a time; a request that ends meanwhile only queues its spans.
 * - The queue holds at most `maxQueue` spans; spans beyond are dropped and counted
 *   (`portico_telemetry_dropped_total`), never waited for.
 * - A push that fails (collector down, refused, slower than `timeoutMs`) is not retried: its
 *   batch is lost. That signal then backs off (backoff.ts): no push of it for 1 s, then 2, 4…
 *   up to 60 s, each less up to half at random, until one succeeds. Spans keep queueing
 *   meanwhile and go out once the collector answers. So a collector that is down loses the
 *   batch in flight and what overflows the queue meanwhile, gets a few tries a minute rather
 *   than one per flush, and requests never wait for it.
 * - A collector that throttles (429, 502, 503 or 504, the statuses OTLP/HTTP calls retryable)
 *   with a Retry-After gets at least that long, up to MAX_RETRY_AFTER_MS, before the next push.
 * - Nothing runs between requests (isolates have no timers that outlive a request): pushes ride
 *   on the requests that come. What is queued when an isolate is evicted is lost: up to
 *   `maxQueue` spans, and the metric increments since the last push.
 */
import type { ForwardFn, BodySource } from '../capabilities.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import type { GatewayMetrics } from './gateway-metrics.ts';
import type { CompiledOtlp } from './config.ts';
import { encodeMetrics, encodeSpans } from './otlp.ts';
import type { AttributeValue, SpanRecord } from './span.ts';
import { retryAfterMs } from '../upstream/retry-after.ts';

/** Back-off of a signal after a failed push: 1 s, doubling up to 60 s, up to half of it random. */
const PUSH_BACKOFF: BackoffOptions = { firstMs: 1000, maxMs: 60_000, jitter: 0.5 };
/** Longest Retry-After honoured, in milliseconds: a collector cannot silence a signal for longer than 5 minutes at a time. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;
/** Statuses after which OTLP/HTTP lets a client try again (and honours Retry-After). */
const THROTTLED = new Set([429, 502, 503, 504]);

type Signal = 'traces' | 'metrics';

export interface OtlpExporterOptions {
  otlp: CompiledOtlp;
  /** Headers with every secret resolved. */
  headers: Record<string, string>;
  fetch: ForwardFn;
  now: () => number;
  metrics: GatewayMetrics;
  /** Resource attributes (service name, instance id, config hash; the PoP once seen). */
  resource: Record<string, AttributeValue>;
}

/** A body source as a stream, for the forward's `guardBody` (no idle timeout: the push has its own). */
function streamOf(source: BodySource): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await source.read();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel: (reason) => source.cancel(reason),
  });
}

export class OtlpExporter {
  private queue: SpanRecord[] = [];
  private busy: Promise<void> | null = null;
  private lastSpans: number;
  private lastMetrics: number;
  private readonly backoff: Record<Signal, Backoff> = { traces: new Backoff(PUSH_BACKOFF), metrics: new Backoff(PUSH_BACKOFF) };
  readonly resource: Record<string, AttributeValue>;

  constructor(private readonly o: OtlpExporterOptions) {
    this.resource = o.resource;
    // The first push of each signal waits a full interval, or a full batch.
    this.lastSpans = o.now();
    this.lastMetrics = o.now();
  }

  /** Queues spans of a finished request; drops them (counted) when the queue is full. */
  offer(spans: readonly SpanRecord[]): void {
    if (!this.o.otlp.traces || spans.length === 0) return;
    if (this.queue.length + spans.length > this.o.otlp.maxQueue) {
      this.o.metrics.dropped.inc(['traces'], spans.length);
      return;
    }
    for (const s of spans) this.queue.push(s);
  }

  /** Starts a push in `waitUntil` when one is due and none is under way. Never waits. */
  maybeFlush(waitUntil: (p: Promise<unknown>) => void): void {
    if (this.busy !== null) return;
    const now = this.o.now();
    const { intervalMs, maxBatch } = this.o.otlp;
    const spans =
      this.queue.length > 0 &&
      (this.queue.length >= maxBatch || now - this.lastSpans >= intervalMs) &&
      this.backoff.traces.ready(now);
    const metrics = this.o.otlp.metrics && now - this.lastMetrics >= intervalMs && this.backoff.metrics.ready(now);
    if (!spans && !metrics) return;
    const p = this.push(spans, metrics).finally(() => {
      this.busy = null;
    });
    this.busy = p;
    waitUntil(p);
  }

  /** Pushes everything waiting now, back-off or not (tests, shutdown). */
  async flush(): Promise<void> {
    if (this.busy) await this.busy;
    while (this.queue.length > 0) await this.push(true, false);
    if (this.o.otlp.metrics) await this.push(false, true);
  }

  /** Spans waiting to be pushed. */
  get queued(): number {
    return this.queue.length;
  }

  private async push(spans: boolean, metrics: boolean): Promise<void> {
    const now = this.o.now();
    const sends: Promise<void>[] = [];
    if (spans) {
      this.lastSpans = now;
      const batch = this.queue.splice(0, this.o.otlp.maxBatch);
      sends.push(this.send('traces', encodeSpans(batch, this.resource), batch.length));
    }
    if (metrics) {
      this.lastMetrics = now;
      sends.push(this.send('metrics', encodeMetrics(this.o.metrics.registry, this.resource, now), 1));
    }
    await Promise.all(sends);
  }

  private async send(signal: Signal, body: string, items: number): Promise<void> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('the collector did not answer in time', 'TimeoutError')),
      this.o.otlp.timeoutMs,
    );
    const headers = new Headers(this.o.headers);
    headers.set('content-type', 'application/json');
    const bytes = new TextEncoder().encode(body);
    headers.set('content-length', String(bytes.byteLength));
    try {
      const response = await this.o.fetch(`${this.o.otlp.endpoint}/v1/${signal}`, {
        method: 'POST',
        headers,
        body: new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(bytes);
            c.close();
          },
        }),
        duplex: 'half',
        redirect: 'manual',
        signal: controller.signal,
        guardBody: streamOf,
      });
      await response.body?.cancel().catch(() => {});
      const ok = response.status >= 200 && response.status < 300;
      this.o.metrics.exports.inc([signal, ok ? 'ok' : 'refused']);
      if (ok) this.backoff[signal].succeeded();
      else {
        this.o.metrics.dropped.inc([signal], items);
        const now = this.o.now();
        const asked = THROTTLED.has(response.status) ? retryAfterMs(response.headers.get('retry-after'), now) : null;
        this.backoff[signal].failed(now, Math.min(asked ?? 0, MAX_RETRY_AFTER_MS));
      }
    } catch {
      this.o.metrics.exports.inc([signal, controller.signal.aborted ? 'timeout' : 'unreachable']);
      this.o.metrics.dropped.inc([signal], items);
      this.backoff[signal].failed(this.o.now());
    } finally {
      clearTimeout(timer);
    }
  }
}
