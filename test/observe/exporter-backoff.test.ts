/**
 * The exporter's back-off against a collector that is down, through a running Node gateway and
 * a real loopback receiver: while it refuses or hangs, a steady stream of requests brings it a
 * few pushes (1 s, then 2 s apart, less up to half at random) instead of one per flush, and the
 * requests are not slowed; once it answers, the first success resets the back-off, the queue
 * drains, and what was lost is exactly the spans of the failed pushes. The back-off's own
 * arithmetic is checked with a fixed random source.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Backoff } from '../../core/observe/backoff.ts';
import { type Collector, startCollector } from './_collector.ts';
import { ADMIN_TOKEN, type Running, startObserved } from './_setup.ts';

let collector: Collector;
const running: Running[] = [];

beforeAll(async () => {
  collector = await startCollector();
});
afterEach(() => {
  expect(collector.rejected).toEqual([]);
  collector.reset();
});
afterAll(async () => {
  for (const r of running) await r.close();
  await collector.close();
});

/** A gateway pushing each request's spans at once (maxBatch 1), warmed up against a collector that answers. */
async function start(otlp: Record<string, unknown>): Promise<Running> {
  const r = await startObserved({
    observability: {
      metrics: {},
      tracing: { sampleRatio: 1 },
      otlp: { endpoint: collector.url, intervalMs: 1, maxBatch: 1, signals: ['traces'], ...otlp },
    },
  });
  running.push(r);
  await steady(r, 300);
  await r.gw.gateway.observer.otlp?.flush();
  collector.reset();
  return r;
}

/** Sends requests one after another for `ms`; returns how many, and their median time in milliseconds. */
async function steady(r: Running, ms: number, until?: () => boolean): Promise<{ sent: number; median: number }> {
  const end = performance.now() + ms;
  let sent = 0;
  const times: number[] = [];
  while (performance.now() < end && !until?.()) {
    const t = performance.now();
    const res = await fetch(`${r.gw.url}/api/s${sent}`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    times.push(performance.now() - t);
    sent++;
    await new Promise((done) => setTimeout(done, 10));
  }
  times.sort((a, b) => a - b);
  return { sent, median: times[times.length >> 1] ?? 0 };
}

function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] as number));
}

async function exporterCounts(r: Running): Promise<{ dropped: number; refused: number; ok: number }> {
  const text = await (await fetch(`${r.gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
  const read = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
  return {
    dropped: read(/^portico_telemetry_dropped_total\{signal="traces"\} (\d+)$/m),
    refused: read(/^portico_telemetry_exports_total\{signal="traces",outcome="refused"\} (\d+)$/m),
    ok: read(/^portico_telemetry_exports_total\{signal="traces",outcome="ok"\} (\d+)$/m),
  };
}

describe('OTLP push back-off', () => {
  it('tries a refusing collector a few times, not once per flush, and loses only the refused batches', async () => {
    const r = await start({});
    const before = await exporterCounts(r);
    collector.mode = 'refuse';
    // 1.2 s of requests: the first push is refused, the next waits 0.5–1 s, the one after 1–2 s.
    // Without the back-off, each request would bring one push.
    const down = await steady(r, 1200);
    expect(down.sent).toBeGreaterThanOrEqual(10);
    const refusedAttempts = collector.arrived;
    expect(refusedAttempts).toBeGreaterThanOrEqual(1);
    expect(refusedAttempts).toBeLessThanOrEqual(2);
    for (const gap of gaps(collector.arrivals)) expect(gap).toBeGreaterThanOrEqual(450);
    // Back up: the next try (within 2 s of the last) gets through.
    collector.mode = 'ok';
    await steady(r, 4000, () => collector.traces.length > 0);
    expect(collector.traces.length).toBeGreaterThan(0);
    // Reset on success: now every request's push goes out at once again.
    const recovered = collector.arrived;
    const up = await steady(r, 600);
    expect(collector.arrived - recovered).toBeGreaterThanOrEqual(up.sent / 2);
    await r.gw.gateway.observer.otlp?.flush();
    const counts = await exporterCounts(r);
    // Each refused push carried one span (maxBatch 1), and nothing else was lost.
    expect(counts.refused - before.refused).toBe(refusedAttempts);
    expect(counts.dropped - before.dropped).toBe(refusedAttempts);
    expect(counts.ok - before.ok).toBeGreaterThan(up.sent / 2);
  }, 20_000);

  it('tries a hanging collector a few times, each cut by the timeout, and requests never wait for it', async () => {
    const r = await start({ timeoutMs: 300 });
    collector.mode = 'hang';
    // 2.5 s: a push hangs 0.3 s, the next starts 0.5–1 s after it failed, the third 1–2 s after that.
    const down = await steady(r, 2500);
    expect(collector.arrived).toBeGreaterThanOrEqual(2);
    expect(collector.arrived).toBeLessThanOrEqual(3);
    for (const gap of gaps(collector.arrivals)) expect(gap).toBeGreaterThanOrEqual(300 + 450);
    // A request that waited for a push would take the 300 ms timeout.
    expect(down.median).toBeLessThan(100);
    expect(down.sent).toBeGreaterThanOrEqual(10);
    collector.mode = 'ok';
    // After a third failure the pause is 2-4 s, and that failure may come up to the 300 ms
    // timeout after the hanging phase ended: 5.5 s covers it (the wait ends at the first push).
    await steady(r, 5500, () => collector.traces.length > 0);
    expect(collector.traces.length).toBeGreaterThan(0);
    const counts = await exporterCounts(r);
    expect(counts.ok).toBeGreaterThanOrEqual(1);
  }, 20_000);
});

describe('OTLP push against a throttling collector', () => {
  it("holds the signal for the collector's Retry-After, longer than the back-off's own first pause", async () => {
    const r = await start({});
    const before = await exporterCounts(r);
    collector.mode = 'throttle';
    collector.retryAfter = '2';
    // The back-off alone would try again 0.5–1 s after the first refusal; the 429 asks for 2 s.
    await steady(r, 1700);
    expect(collector.arrived).toBe(1);
    collector.mode = 'ok';
    await steady(r, 4000, () => collector.traces.length > 0);
    expect(collector.traces.length).toBeGreaterThan(0);
    const [first, second] = collector.arrivals as [number, number];
    expect(second - first).toBeGreaterThanOrEqual(2000);
    await r.gw.gateway.observer.otlp?.flush();
    const counts = await exporterCounts(r);
    expect(counts.refused - before.refused).toBe(1);
    expect(counts.dropped - before.dropped).toBe(1);
  }, 20_000);
});

describe('Backoff', () => {
  it('doubles from the first pause up to the cap, takes up to the jitter share off at random, and resets on success', () => {
    let r = 0;
    const b = new Backoff({ firstMs: 1000, maxMs: 60_000, jitter: 0.5, random: () => r });
    expect(b.ready(0)).toBe(true);
    const pauses = Array.from({ length: 9 }, () => b.failed(0));
    expect(pauses).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(b.failures).toBe(9);
    expect(b.ready(59_999)).toBe(false);
    expect(b.ready(60_000)).toBe(true);
    b.succeeded();
    expect(b.ready(0)).toBe(true);
    r = 0.999;
    const short = b.failed(100);
    expect(short).toBeCloseTo(500.5, 5);
    expect(b.ready(100 + 500)).toBe(false);
    expect(b.ready(100 + 501)).toBe(true);
    // A long outage stays at the cap rather than overflowing.
    for (let i = 0; i < 2000; i++) b.failed(0);
    expect(b.failed(0)).toBeCloseTo(60_000 * (1 - 0.5 * 0.999), 5);
  });

  it("waits at least the service's own ask when it is longer than the back-off, and no longer when it is shorter", () => {
    const b = new Backoff({ firstMs: 1000, maxMs: 60_000, jitter: 0.5, random: () => 0 });
    expect(b.failed(0, 7000)).toBe(7000);
    expect(b.ready(6999)).toBe(false);
    expect(b.ready(7000)).toBe(true);
    // The second failure's back-off (2 s) is longer than a 500 ms ask.
    expect(b.failed(10_000, 500)).toBe(2000);
  });
});
