/**
 * The access record of a running Node gateway: one line per request with time, request id,
 * trace id, route, region, each origin tried, the limit and auth decisions, status, bytes and
 * duration; nothing a client sends beyond the path; sampling of successes. Also Server-Timing
 * (opt-in per route, no addresses) and the synthetic-probe headers (trusted sources only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, rawRequest } from '../e2e/_harness.ts';
import { accessRecords, type Running, startObserved } from './_setup.ts';

const KEY = 'ak_live_0123456789abcdefSECRET';
let run: Running;
let gonePort: number;

beforeAll(async () => {
  gonePort = await closedPort();
  run = await startObserved(
    {
      trustedProxies: ['10.9.0.0/16'],
      observability: { serverTiming: ['timed'], probes: { from: ['127.0.0.1/32'] } },
    },
    [
      { id: 'api', match: { path: '/api/*' }, upstream: 'eu' },
      { id: 'timed', match: { path: '/timed/*' }, upstream: ['gone', 'eu'] },
      {
        id: 'limited',
        match: { path: '/limited' },
        upstream: 'eu',
        rateLimit: { key: 'route', limits: [{ requests: 1, per: '1m' }] },
      },
    ],
    { gone: { url: `http://127.0.0.1:${gonePort}`, region: 'us-east' } },
  );
}, 30_000);

afterAll(async () => {
  await run?.close();
});

function last(route: string | null) {
  return accessRecords(run.logs)
    .filter((r) => r['route'] === route)
    .at(-1);
}

describe('access log', () => {
  it('writes one record with time, ids, route, region, origin, status, bytes and duration', async () => {
    const res = await fetch(`${run.gw.url}/api/one`);
    expect(res.status).toBe(200);
    await res.text();
    const r = last('api');
    expect(r).toMatchObject({ level: 'info', msg: 'request', method: 'GET', path: '/api/one', route: 'api', status: 200 });
    expect(r?.['time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(r?.['requestId']).toBe(res.headers.get('x-request-id'));
    expect(r?.['traceId']).toMatch(/^[0-9a-f]{32}$/);
    expect(r).toMatchObject({ origin: 'eu', region: 'eu-west' });
    expect(typeof r?.['ms']).toBe('number');
    expect(r).toHaveProperty('bytes');
  });

  it('measures the duration on a gateway without tracing too (no observability block)', async () => {
    const plain = await startObserved({});
    try {
      const res = await fetch(`${plain.gw.url}/api/slow?delay=120`);
      expect(res.status).toBe(200);
      await res.text();
      const r = accessRecords(plain.logs).at(-1);
      expect(r).toMatchObject({ route: 'api', status: 200 });
      expect(r).not.toHaveProperty('traceId');
      // The origin waits 120 ms before its headers; the line's duration includes that wait.
      expect(Number(r?.['ms'])).toBeGreaterThanOrEqual(110);
    } finally {
      await plain.close();
    }
  });

  it('names the limit decision of a rate-limited route: allowed, then limited', async () => {
    await fetch(`${run.gw.url}/limited`);
    expect(last('limited')).toMatchObject({ limit: 'allowed', status: 200 });
    await fetch(`${run.gw.url}/limited`);
    expect(last('limited')).toMatchObject({ limit: 'limited', status: 429, code: 'ERR_RATE_LIMITED' });
  });

  it('logs a request no route took, with its code and no route', async () => {
    await fetch(`${run.gw.url}/nowhere`);
    expect(last(null)).toMatchObject({ status: 404, code: 'ERR_ROUTE_NOT_FOUND', route: null, path: '/nowhere' });
  });

  it('keeps tokens, keys, queries and header values out of the line, and a path with a newline on one line', async () => {
    const before = run.logs.length;
    await rawRequest(run.gw.url, `/api/x%0a%7b%22level%22:%22error%22%7d?api_key=${KEY}&token=${KEY}`, {
      headers: {
        authorization: `Bearer ${KEY}`,
        cookie: `session=${KEY}`,
        'x-api-key': KEY,
        'user-agent': `evil ${KEY}`,
        traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
      },
    });
    const lines = run.logs.slice(before).map((r) => JSON.stringify(r));
    expect(lines.filter((l) => l.includes('"msg":"request"'))).toHaveLength(1);
    for (const line of lines) {
      expect(line).not.toContain('SECRET');
      expect(line).not.toContain('api_key');
      expect(line).not.toContain('\n');
      expect(line).not.toContain('a'.repeat(32));
    }
  });

  it('samples successful requests by successSampleRatio and logs every error', async () => {
    const r = await startObserved({ observability: { accessLog: { successSampleRatio: 0 } } }, [
      { id: 'api', match: { path: '/api/*' }, upstream: 'eu' },
    ]);
    try {
      for (let i = 0; i < 5; i++) await fetch(`${r.gw.url}/api/s${i}`);
      await fetch(`${r.gw.url}/missing`);
      const records = accessRecords(r.logs);
      expect(records.filter((x) => x['status'] === 200)).toHaveLength(0);
      expect(records.filter((x) => x['status'] === 404)).toHaveLength(1);
    } finally {
      await r.close();
    }
  });
});

describe('Server-Timing', () => {
  it('carries edge and origin times on a route that opts in, and no address or port', async () => {
    const res = await fetch(`${run.gw.url}/timed/x`);
    expect(res.status).toBe(200);
    const st = res.headers.get('server-timing') ?? '';
    expect(st).toMatch(/^edge;dur=\d+(\.\d)?, origin;dur=\d+(\.\d)?$/);
    expect(st).not.toContain('127.0.0.1');
    expect(st).not.toContain(String(gonePort));
  });

  it('is absent on routes that did not opt in', async () => {
    const res = await fetch(`${run.gw.url}/api/x`);
    expect(res.headers.get('server-timing')).toBeNull();
  });
});

describe('synthetic probe header', () => {
  it('gives a probe from a trusted address the route, region and origin', async () => {
    const res = await fetch(`${run.gw.url}/timed/p`, { headers: { 'x-probe-source': 'synthetic-monitor' } });
    expect(res.headers.get('x-portico-route')).toBe('timed');
    expect(res.headers.get('x-portico-region')).toBe('eu-west');
    expect(res.headers.get('x-portico-origin')).toBe('eu');
  });

  it('gives nothing to a request without the exact header value', async () => {
    const res = await fetch(`${run.gw.url}/timed/p`, { headers: { 'x-probe-source': 'synthetic-monitor-x' } });
    expect(res.headers.get('x-portico-route')).toBeNull();
  });

  it('gives nothing to a probe from an address outside probes.from, even one spoofing X-Forwarded-For', async () => {
    const other = await startObserved({ observability: { probes: { from: ['10.20.0.0/16'] } } }, [
      { id: 'api', match: { path: '/api/*' }, upstream: 'eu' },
    ]);
    try {
      const res = await fetch(`${other.gw.url}/api/p`, {
        headers: { 'x-probe-source': 'synthetic-monitor', 'x-forwarded-for': '10.20.1.1' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-portico-route')).toBeNull();
      expect(res.headers.get('x-portico-region')).toBeNull();
      expect(res.headers.get('x-portico-origin')).toBeNull();
    } finally {
      await other.close();
    }
  });
});
