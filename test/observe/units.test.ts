/**
 * The pieces on their own: the observability block's checks (each with its path), the
 * exposition's escaping, traceparent parsing, and auth spans and Server-Timing on a JWT route
 * through an in-process gateway with a real loopback origin.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { createGateway } from '../../core/gateway.ts';
import { createTwinHot } from '../../core/hot/index.ts';
import { encodePrometheus, parseTraceParent, Registry, RequestTrace } from '../../core/observe/index.ts';
import { newSpanId, newTraceId, newTraceParent, spanIdOf, traceIdOf } from '../../core/observe/trace-context.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { DEMO_SCOPE, demoIssuers, demoJwtRoute, startDemoIdp } from '../../scripts/demo/demo-jwt.ts';

const SECRET = 'hs256-secret-for-the-observe-tests-0123456789';
let echo: EchoOrigin;
beforeAll(async () => {
  echo = await startEchoOrigin({ region: 'eu-west' });
});
afterAll(async () => {
  await echo?.close();
});

async function issues(config: Record<string, unknown>): Promise<string[]> {
  try {
    await compileConfig({
      origins: { o: { url: 'http://127.0.0.1:1' } },
      routes: [{ id: 'r', match: { path: '/r' }, upstream: 'o' }],
      ...config,
    });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('the observability block', () => {
  it('refuses /metrics without an admin block, naming the path', async () => {
    expect(await issues({ observability: { metrics: {} } })).toEqual([
      'observability.metrics: the metrics endpoint is authenticated with the admin token: add an admin block { token: { "env": "NAME" } }',
    ]);
  });

  it('names unknown Server-Timing routes, bad CIDR ranges and a metrics path a route takes', async () => {
    const found = await issues({
      admin: { token: { env: 'T' } },
      observability: {
        metrics: { path: '/r' },
        serverTiming: ['r', 'nope'],
        probes: { from: ['10.0.0.0/8', 'not-an-ip'] },
        tracing: { trustedCallers: ['300.1.1.1'] },
      },
    });
    expect(found).toContain('observability.metrics.path: /r is the path of route "r"');
    expect(found).toContain('observability.serverTiming[1]: unknown route "nope" (routes: r)');
    expect(found).toContain('observability.probes.from[1]: expected an IP address or CIDR range, got "not-an-ip"');
    expect(found).toContain('observability.tracing.trustedCallers[0]: expected an IP address or CIDR range, got "300.1.1.1"');
  });

  it('refuses a sample ratio outside 0 to 1', async () => {
    const found = await issues({ observability: { tracing: { sampleRatio: 2 } } });
    expect(found.join('\n')).toMatch(/observability\.tracing\.sampleRatio: expected sampleRatio from 0 to 1/);
  });
});

describe('the exposition', () => {
  it('escapes backslashes, quotes and newlines in label values', () => {
    const r = new Registry(Date.now);
    r.counter('x', 'help with "quotes"\nand a newline', ['l']).inc(['a\\b"c\nd']);
    expect(encodePrometheus(r, 'text')).toContain('x_total{l="a\\\\b\\"c\\nd"} 1');
  });
});

describe('traceparent', () => {
  it('takes version 00 with four fields and refuses zero ids, version ff and extra fields', () => {
    expect(parseTraceParent(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`)).toEqual({
      traceId: 'a'.repeat(32),
      parentId: 'b'.repeat(16),
      sampled: true,
    });
    expect(parseTraceParent(`00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`)).toBeNull();
    expect(parseTraceParent(`00-${'a'.repeat(32)}-${'0'.repeat(16)}-01`)).toBeNull();
    expect(parseTraceParent(`ff-${'a'.repeat(32)}-${'b'.repeat(16)}-01`)).toBeNull();
    expect(parseTraceParent(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-extra`)).toBeNull();
    expect(parseTraceParent(`01-${'a'.repeat(32)}-${'b'.repeat(16)}-00-future`)?.sampled).toBe(false);
    expect(parseTraceParent(`00-${'A'.repeat(32)}-${'b'.repeat(16)}-01`)).toBeNull();
  });
});

describe('trace and span ids', () => {
  it('are lower-case hex of 16 and 8 random bytes, each byte value seen, none repeated', () => {
    const traces = Array.from({ length: 2000 }, newTraceId);
    const spans = Array.from({ length: 4000 }, newSpanId);
    for (const t of traces) expect(t).toMatch(/^[0-9a-f]{32}$/);
    for (const s of spans) expect(s).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(traces).size).toBe(traces.length);
    expect(new Set(spans).size).toBe(spans.length);
    // Every two-digit pair at every even position: the digit table and the byte order are whole.
    const pairs = new Set(spans.flatMap((s) => [0, 2, 4, 6, 8, 10, 12, 14].map((i) => s.slice(i, i + 2))));
    expect(pairs.size).toBe(256);
  });

  it('are read from the refilled pool: the first ids a fresh module makes are not zero', async () => {
    // Each test file shares the module, so a fresh copy shows the first draw (an empty pool).
    vi.resetModules();
    const fresh = await import('../../core/observe/trace-context.ts');
    expect(fresh.newTraceId()).not.toBe('0'.repeat(32));
    vi.resetModules();
    const again = await import('../../core/observe/trace-context.ts');
    expect(again.newSpanId()).not.toBe('0'.repeat(16));
    // And at each refill: across 4 KiB pools, no id of all zeros and none repeated.
    const ids = Array.from({ length: 1200 }, (_, i) => (i % 3 === 0 ? again.newTraceId() : again.newSpanId()));
    expect(ids.filter((id) => /^0+$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("make a new trace's traceparent as one string whose slices are its ids", () => {
    const parents = Array.from({ length: 3000 }, (_, i) => newTraceParent(i % 2 === 0));
    for (const [i, tp] of parents.entries()) {
      expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      expect(tp.endsWith(i % 2 === 0 ? '-01' : '-00')).toBe(true);
      const parsed = parseTraceParent(tp);
      expect(parsed).toEqual({ traceId: traceIdOf(tp), parentId: spanIdOf(tp), sampled: i % 2 === 0 });
    }
    expect(new Set(parents.map(traceIdOf)).size).toBe(parents.length);
    expect(new Set(parents.map(spanIdOf)).size).toBe(parents.length);
    // Every byte value at every position of both ids: the 55 codes are laid out right.
    for (const [from, to] of [
      [3, 35],
      [36, 52],
    ] as const) {
      for (let at = from; at < to; at += 2) expect(new Set(parents.map((tp) => tp.slice(at, at + 2))).size).toBe(256);
    }
    // And the trace the gateway starts sends the same ids it logs and exports.
    const trace = new RequestTrace(() => 0, 0, null, '', true, null);
    expect(trace.traceParent()).toBe(`00-${trace.traceId}-${trace.upstreamSpanId}-01`);
  });

  it('draw a traceparent again when either id would be all zeros', async () => {
    // Zeros for the trace id part of the first draw, then real bytes: no all-zero id comes out.
    const real = crypto.getRandomValues.bind(crypto);
    let calls = 0;
    const spy = vi.spyOn(crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(a: T): T => {
      calls++;
      const out = real(a as never) as unknown as Uint8Array;
      if (calls === 1) for (let i = 0; i < out.length; i += 24) out.fill(0, i, i + 16);
      return a;
    });
    try {
      // A fresh module: its pool is empty, so the first draw is the zeroed one. Every 24-byte draw
      // of that pool has a zero trace id, so the id comes from the second.
      vi.resetModules();
      const fresh = await import('../../core/observe/trace-context.ts');
      const tp = fresh.newTraceParent(false);
      expect(calls).toBe(2);
      expect(fresh.traceIdOf(tp)).not.toBe('0'.repeat(32));
      expect(fresh.spanIdOf(tp)).not.toBe('0'.repeat(16));
    } finally {
      spy.mockRestore();
    }
  });

  it('are drawn again when the random source gives all-zero bytes', () => {
    const real = crypto.getRandomValues.bind(crypto);
    let calls = 0;
    const spy = vi.spyOn(crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(a: T): T => {
      calls++;
      return calls === 1 ? a : real(a as never);
    });
    try {
      // Until the pool has been refilled twice: once with zeros (all skipped), then for real.
      const ids: string[] = [];
      while (calls < 2 && ids.length < 10_000) ids.push(newSpanId());
      expect(calls).toBe(2);
      expect(ids.at(-1)).toMatch(/^[0-9a-f]{16}$/);
      for (const id of ids) expect(id).not.toBe('0'.repeat(16));
      expect(newTraceId()).not.toBe('0'.repeat(32));
    } finally {
      spy.mockRestore();
    }
  });
});

describe('a timed step (RequestTrace.span)', () => {
  const clock = (): number => performance.timeOrigin + performance.now();

  it('is recorded before the caller resumes, for a result, a rejection and a throw (which becomes a rejection)', async () => {
    const trace = new RequestTrace(clock, clock(), newTraceId(), '', false, null);
    const work = new Promise<string>((r) => setTimeout(() => r('done'), 20));
    const p = trace.span('upstream', 'origin', () => work);
    expect(trace.steps).toHaveLength(0);
    expect(await p).toBe('done');
    expect(trace.steps.map((s) => s.name)).toEqual(['upstream']);
    const step = trace.steps[0];
    expect((step?.endMs ?? 0) - (step?.startMs ?? 0)).toBeGreaterThanOrEqual(15);
    await expect(trace.span('cache.store', 'cache', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(trace.steps).toHaveLength(2);
    const thrown = trace.span('cache.store', 'cache', () => {
      throw new Error('at once');
    });
    expect(trace.steps).toHaveLength(3);
    await expect(thrown).rejects.toThrow('at once');
  });

  it('makes the server span id only when asked, once', () => {
    const trace = new RequestTrace(clock, clock(), newTraceId(), '', true, null);
    expect(trace.traceParent()).toBe(`00-${trace.traceId}-${trace.upstreamSpanId}-01`);
    const id = trace.spanId;
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.spanId).toBe(id);
    expect(id).not.toBe(trace.upstreamSpanId);
  });
});

describe('timed policies', () => {
  it('adds auth to Server-Timing on a JWT route, and the auth result to the access record', async () => {
    const config = await compileConfig({
      origins: { eu: { url: echo.url, region: 'eu-west' } },
      issuers: { local: { keys: [{ env: 'JWT_SECRET' }], algorithms: ['HS256'] } },
      routes: [{ id: 'secure', match: { path: '/s/*' }, upstream: 'eu', jwt: { issuer: 'local' } }],
      observability: { serverTiming: true },
    });
    const logs: Record<string, unknown>[] = [];
    const gw = createGateway(config, {
      forward: (url, init) => fetch(url, init as RequestInit),
      now: Date.now,
      hot: createTwinHot(),
      log: (r) => logs.push(r),
      secrets: (n) => (n === 'JWT_SECRET' ? SECRET : undefined),
    });
    await gw.ready;
    const ctx = { waitUntil() {}, clientAddress: '127.0.0.1' };
    const token = await new SignJWT({ sub: 'u1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const ok = await gw.fetch(new Request('http://gw/s/x', { headers: { authorization: `Bearer ${token}` } }), ctx);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('server-timing')).toMatch(/^edge;dur=[\d.]+, auth;dur=[\d.]+, origin;dur=[\d.]+$/);
    const refused = await gw.fetch(new Request('http://gw/s/x'), ctx);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('server-timing')).toMatch(/^edge;dur=[\d.]+, auth;dur=[\d.]+$/);
    const records = logs.filter((l) => l['msg'] === 'request');
    expect(records[0]).toMatchObject({ authResult: 'ok', auth: 'jwt', sub: 'u1' });
    expect(records[1]).toMatchObject({ authResult: 'missing', code: 'ERR_AUTH_MISSING' });
    expect(JSON.stringify(records)).not.toContain(token);
  });
});

describe('metrics the policies feed', () => {
  it('counts JWKS fetches by issuer and outcome, and applied cache purges', async () => {
    const idp = await startDemoIdp();
    try {
      const config = await compileConfig({
        admin: { token: { env: 'ADMIN' } },
        observability: { metrics: {} },
        issuers: demoIssuers(idp.url),
        origins: { eu: { url: echo.url, region: 'eu-west' } },
        routes: [demoJwtRoute('eu'), { id: 'catalog', match: { path: '/catalog/*' }, upstream: 'eu', cache: true }],
      });
      const admin = 'admin-token-for-the-policy-metrics-test';
      const gw = createGateway(config, {
        forward: (url, init) => fetch(url, init as RequestInit),
        now: Date.now,
        hot: createTwinHot(),
        secrets: (n) => (n === 'ADMIN' ? admin : undefined),
      });
      await gw.ready;
      const ctx = { waitUntil() {}, clientAddress: '127.0.0.1' };
      const token = await idp.mintDemoToken([DEMO_SCOPE]);
      const ok = await gw.fetch(new Request('http://gw/secure/orders', { headers: { authorization: `Bearer ${token}` } }), ctx);
      expect(ok.status).toBe(200);
      const purge = await gw.fetch(
        new Request('http://gw/_portico/purge', {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({ tags: ['catalog'] }),
        }),
        ctx,
      );
      expect(purge.status).toBe(202);
      const scrape = await gw.fetch(new Request('http://gw/metrics', { headers: { authorization: `Bearer ${admin}` } }), ctx);
      const text = await scrape.text();
      expect(text).toMatch(/^portico_jwks_fetches_total\{issuer="demo",outcome="ok"\} 1$/m);
      expect(text).toMatch(/^portico_cache_purges_total 1$/m);
    } finally {
      await idp.close();
    }
  });
});
