/**
 * Tracing through a running Node gateway: W3C traceparent taken from trusted callers only,
 * always propagated to the origin, spans exported as OTLP/HTTP JSON to a loopback receiver
 * (server span, timed steps, one client span per origin attempt), sampling with errors always
 * kept, and a collector that is down costing requests nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { closedPort } from '../e2e/_harness.ts';
import { attr, big, type Collector, hex, startCollector } from './_collector.ts';
import { type Running, startObserved } from './_setup.ts';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;

let collector: Collector;
const running: Running[] = [];

beforeAll(async () => {
  collector = await startCollector();
});
afterEach(() => {
  // Every body that arrived decoded as OTLP/JSON.
  expect(collector.rejected).toEqual([]);
  collector.reset();
});
afterAll(async () => {
  for (const r of running) await r.close();
  await collector.close();
});

async function start(observability: Record<string, unknown>, trustedProxies: string[] = []): Promise<Running> {
  const r = await startObserved(
    { observability, trustedProxies },
    [
      { id: 'api', match: { path: '/api/*' }, upstream: 'eu' },
      { id: 'failover', match: { path: '/fo/*' }, upstream: ['gone', 'eu'] },
      { id: 'down', match: { path: '/down/*' }, upstream: 'gone' },
      {
        id: 'again',
        match: { path: '/again/*' },
        upstream: 'gone',
        retry: { attempts: 2, on: ['connect'], backoffMs: 300, maxBackoffMs: 300 },
      },
    ],
    { gone: { url: `http://127.0.0.1:${await closedPort()}`, region: 'us-east' } },
  );
  running.push(r);
  return r;
}

function flush(r: Running): Promise<void> {
  return r.gw.gateway.observer.otlp?.flush() ?? Promise.resolve();
}

describe('trace context', () => {
  it('takes the traceparent and tracestate of a trusted caller and hands the origin the same trace with the gateway as parent', async () => {
    const r = await start({ tracing: { sampleRatio: 0, trustedCallers: ['127.0.0.1/32'] } });
    await fetch(`${r.gw.url}/api/t`, { headers: { traceparent: TRACEPARENT, tracestate: 'vendor=abc' } });
    const seen = r.echo.seen.at(-1)?.headers;
    expect(seen?.['traceparent']).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`));
    expect(seen?.['traceparent']).not.toContain(CALLER_SPAN);
    expect(seen?.['tracestate']).toBe('vendor=abc');
    const record = r.logs.find((l) => l.msg === 'request' && l.route === 'api');
    expect(record?.['traceId']).toBe(CALLER_TRACE);
  });

  it('starts a new trace for an untrusted caller, dropping its traceparent and tracestate', async () => {
    const r = await start({ tracing: { sampleRatio: 0 } });
    await fetch(`${r.gw.url}/api/t`, { headers: { traceparent: TRACEPARENT, tracestate: 'vendor=abc' } });
    const seen = r.echo.seen.at(-1)?.headers;
    expect(seen?.['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(seen?.['traceparent']).not.toContain(CALLER_TRACE);
    expect(seen?.['tracestate']).toBeUndefined();
  });

  it('trusts the traceparent coming through a trusted proxy, and replaces a malformed one', async () => {
    const r = await start({}, ['127.0.0.1/32']);
    await fetch(`${r.gw.url}/api/t`, { headers: { traceparent: TRACEPARENT } });
    expect(r.echo.seen.at(-1)?.headers['traceparent']).toContain(CALLER_TRACE);
    await fetch(`${r.gw.url}/api/t`, { headers: { traceparent: `00-${'0'.repeat(32)}-${CALLER_SPAN}-01` } });
    expect(r.echo.seen.at(-1)?.headers['traceparent']).toMatch(/^00-(?!0{32})[0-9a-f]{32}-/);
  });
});

describe('OTLP spans', () => {
  it('exports a server span with HTTP and portico attributes, the upstream step, and a client span per attempt', async () => {
    const r = await start({
      tracing: { sampleRatio: 1, trustedCallers: ['127.0.0.1/32'] },
      otlp: { endpoint: collector.url, intervalMs: 60_000, signals: ['traces'] },
    });
    const res = await fetch(`${r.gw.url}/fo/x?secret=q`, { headers: { traceparent: TRACEPARENT } });
    expect(res.status).toBe(200);
    await flush(r);
    const spans = collector.spans().filter((s) => hex(s.traceId) === CALLER_TRACE);
    const server = spans.find((s) => s.kind === 2);
    expect(hex(server?.parentSpanId)).toBe(CALLER_SPAN);
    expect(server?.name).toBe('GET /fo/*');
    expect(attr(server?.attributes ?? [], 'http.request.method')).toBe('GET');
    expect(attr(server?.attributes ?? [], 'http.route')).toBe('/fo/*');
    expect(attr(server?.attributes ?? [], 'http.response.status_code')).toBe(200);
    expect(attr(server?.attributes ?? [], 'portico.route')).toBe('failover');
    expect(attr(server?.attributes ?? [], 'portico.region')).toBe('eu-west');
    expect(attr(server?.attributes ?? [], 'url.path')).toBe('/fo/x');
    expect(JSON.stringify(spans)).not.toContain('secret=q');
    const upstream = spans.find((s) => s.name === 'upstream');
    expect(hex(upstream?.parentSpanId)).toBe(hex(server?.spanId));
    // The origin's parent is the gateway's upstream span.
    expect(r.echo.seen.at(-1)?.headers['traceparent']).toBe(`00-${CALLER_TRACE}-${hex(upstream?.spanId)}-01`);
    const clients = spans.filter((s) => s.kind === 3);
    expect(clients.length).toBeGreaterThanOrEqual(1);
    for (const c of clients) expect(hex(c.parentSpanId)).toBe(hex(upstream?.spanId));
    expect(big(server?.endTimeUnixNano) >= big(server?.startTimeUnixNano)).toBe(true);
    const resource = collector.traces[0]?.resourceSpans?.[0]?.resource?.attributes;
    expect(attr(resource, 'service.name')).toBe('portico');
  });

  it('times each attempt where it is made: a retry after a backoff starts after the pause, not at the end of the first try', async () => {
    const r = await start({
      tracing: { sampleRatio: 1, trustedCallers: ['127.0.0.1/32'] },
      otlp: { endpoint: collector.url, intervalMs: 60_000, signals: ['traces'] },
    });
    // The backoff is random under the route's 300 ms: pinned near the top for this request, so
    // that the pause is large beside whatever a loaded machine adds around the tries.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.99);
    let res: Response;
    try {
      res = await fetch(`${r.gw.url}/again/x`, { headers: { traceparent: TRACEPARENT } });
    } finally {
      random.mockRestore();
    }
    expect(res.status).toBe(502);
    await flush(r);
    const spans = collector.spans().filter((s) => hex(s.traceId) === CALLER_TRACE);
    const ns = (v: Parameters<typeof big>[0]): number => Number(big(v) / 1000n) / 1000;
    const upstream = spans.find((s) => s.name === 'upstream');
    const clients = spans
      .filter((s) => s.kind === 3)
      .map((s) => ({ start: ns(s.startTimeUnixNano), end: ns(s.endTimeUnixNano) }))
      .sort((a, b) => a.start - b.start);
    expect(clients).toHaveLength(2);
    const [first, second] = clients as [{ start: number; end: number }, { start: number; end: number }];
    const upStart = ns(upstream?.startTimeUnixNano);
    const upEnd = ns(upstream?.endTimeUnixNano);
    // The pause (297 ms) lies between the two tries, and the second ends with the step. Laid
    // wrongly (the second try at the end of the first), the gap would be about 0 and the pause
    // would sit after the second try. What the step does before its first try and after its last
    // is not the pause; 40 ms is left for that.
    expect(second.start - first.end).toBeGreaterThanOrEqual(257);
    expect(upEnd - second.end).toBeLessThanOrEqual(40);
    expect(first.start).toBeGreaterThanOrEqual(upStart - 1);
  });

  it('keeps no span of an unsampled success, but always the spans of a 5xx', async () => {
    const r = await start({
      tracing: { sampleRatio: 0 },
      otlp: { endpoint: collector.url, intervalMs: 60_000, signals: ['traces'] },
    });
    expect((await fetch(`${r.gw.url}/api/ok`)).status).toBe(200);
    expect((await fetch(`${r.gw.url}/down/x`)).status).toBe(502);
    await flush(r);
    const servers = collector.spans().filter((s) => s.kind === 2);
    expect(servers.map((s) => attr(s.attributes, 'portico.route'))).toEqual(['down']);
    expect(servers[0]?.status?.code).toBe(2);
    expect(attr(servers[0]?.attributes ?? [], 'error.type')).toBe('ERR_UPSTREAM_UNREACHABLE');
  });

  it('pushes metrics as cumulative OTLP sums with the request counts', async () => {
    const r = await start({ otlp: { endpoint: collector.url, intervalMs: 60_000, signals: ['metrics'] } });
    for (let i = 0; i < 4; i++) await fetch(`${r.gw.url}/api/m${i}`);
    await flush(r);
    const metrics = collector.metrics.at(-1)?.resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics ?? [];
    const requests = metrics.find((m) => m.name === 'portico_requests');
    expect(requests?.sum?.isMonotonic).toBe(true);
    const point = requests?.sum?.dataPoints?.find((p) => attr(p.attributes, 'route') === 'api');
    expect(point?.asDouble).toBe(4);
    const histogram = metrics.find((m) => m.name === 'portico_request_duration_seconds')?.histogram;
    expect(big(histogram?.dataPoints?.[0]?.count)).toBe(4n);
  });

  it('never slows requests when the collector hangs, and loses at most the batch in flight', async () => {
    collector.mode = 'hang';
    const r = await start({
      tracing: { sampleRatio: 1 },
      otlp: { endpoint: collector.url, intervalMs: 1, maxBatch: 2, timeoutMs: 3000, signals: ['traces'] },
    });
    collector.arrived = 0;
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect((await fetch(`${r.gw.url}/api/h${i}`)).status).toBe(200);
    // 20 requests against a collector that never answers: far below one push timeout.
    expect(Date.now() - started).toBeLessThan(2500);
    expect(collector.arrived).toBe(1);
    collector.mode = 'ok';
    await flush(r);
    const routes = collector.spans().filter((s) => s.kind === 2);
    // The hung push carried one batch (the spans of the first request); every later one arrives.
    expect(routes.length).toBeGreaterThanOrEqual(19);
    const metrics = await fetch(`${r.gw.url}/api/after`);
    expect(metrics.status).toBe(200);
  }, 20_000);

  it('drops spans beyond the bounded queue while the collector is refusing, and counts them', async () => {
    collector.mode = 'refuse';
    const r = await start({
      metrics: {},
      tracing: { sampleRatio: 1 },
      otlp: { endpoint: collector.url, intervalMs: 1, maxBatch: 100, maxQueue: 5, signals: ['traces'] },
    });
    for (let i = 0; i < 10; i++) await fetch(`${r.gw.url}/api/q${i}`);
    await flush(r);
    const text = await (
      await fetch(`${r.gw.url}/metrics`, { headers: { authorization: 'Bearer observe-test-admin-token-0123456789abcdef' } })
    ).text();
    expect(text).toMatch(/^portico_telemetry_dropped_total\{signal="traces"\} [1-9]\d*$/m);
    expect(text).toMatch(/^portico_telemetry_exports_total\{signal="traces",outcome="refused"\} [1-9]\d*$/m);
  });
});
