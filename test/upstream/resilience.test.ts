/**
 * Resilience end to end on Node: real loopback origins (echo origins with their region controls,
 * closed ports, origins that hang), the real forwarder and the real hot path. Timing bounds are
 * generous: the machine is shared.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { closedPort, rawRequest } from '../e2e/_harness.ts';

let eu: EchoOrigin;
let us: EchoOrigin;
let ap: EchoOrigin;
let flaky: EchoOrigin;
let hang: Server;
let gw: NodeServer;
const logs: Record<string, unknown>[] = [];
const hot = await loadNodeHot('wasm');

function requestLog(id: string): Record<string, unknown> | undefined {
  return logs.find((l) => l['msg'] === 'request' && l['requestId'] === id);
}

async function config(): Promise<PorticoConfig> {
  const dead = await closedPort();
  const hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
  // The dead origins never come back, so their breakers stay open for the whole file: with a short
  // open time, a slow CI run half-opened them between two requests and logged a second opening.
  const deadBreaker = { failures: 3, openMs: 60_000, jitter: 0 };
  return {
    trustedProxies: ['127.0.0.1'],
    geo: { countryHeader: 'x-client-country' },
    origins: {
      eu: { url: eu.url, region: 'eu-west', timeoutMs: 2000 },
      us: { url: us.url, region: 'us-east', timeoutMs: 2000 },
      ap: { url: ap.url, region: 'ap-south', timeoutMs: 2000 },
      dead: { url: `http://127.0.0.1:${dead}`, region: 'eu-west', timeoutMs: 2000, breaker: deadBreaker },
      dead2: { url: `http://127.0.0.1:${dead}`, region: 'us-east', timeoutMs: 2000, breaker: deadBreaker },
      hang: { url: hangUrl, region: 'eu-west', timeoutMs: 400, breaker: false },
      hangLimited: { url: hangUrl, region: 'eu-west', timeoutMs: 3000, maxConcurrent: 1, breaker: false },
      flaky: { url: flaky.url, region: 'eu-west', timeoutMs: 2000, breaker: { failures: 2, openMs: 1500, jitter: 0 } },
      // The same origin without a breaker, for the retry rules alone.
      steady: { url: flaky.url, region: 'eu-west', timeoutMs: 2000, breaker: false },
      steady2: { url: flaky.url, region: 'eu-west', timeoutMs: 2000, breaker: false },
    },
    pools: {
      world: {
        origins: ['eu', 'us', 'ap'],
        countries: { SG: 'ap-south' },
        continents: { EU: 'eu-west', NA: 'us-east', AS: 'ap-south' },
        defaultRegion: 'us-east',
      },
    },
    routes: [
      { id: 'failover-503', match: { path: '/f503' }, upstream: ['flaky', 'us'] },
      { id: 'slow-first', match: { path: '/slow' }, upstream: ['hang', 'us'] },
      { id: 'breaker', match: { path: '/breaker' }, upstream: ['dead', 'us'] },
      { id: 'panic', match: { path: '/panic' }, upstream: ['dead2', 'dead'] },
      { id: 'post', match: { path: '/post' }, upstream: ['steady2', 'us'] },
      { id: 'post-opt-in', match: { path: '/post-opt-in' }, upstream: ['steady', 'us'], retry: { methods: ['POST'] } },
      {
        id: 'no-budget',
        match: { path: '/no-budget' },
        upstream: ['steady', 'us'],
        retry: { budget: { ratio: 0, minPerSecond: 0 } },
      },
      { id: 'same-origin', match: { path: '/same' }, upstream: 'steady', retry: { attempts: 2, maxRetryAfterMs: 2000 } },
      {
        id: 'shed',
        match: { path: '/shed' },
        upstream: 'hang',
        timeoutMs: 1500,
        shed: { maxConcurrent: 1, retryAfterSeconds: 2 },
      },
      {
        id: 'shed-queue',
        match: { path: '/queue' },
        upstream: 'us',
        shed: { maxConcurrent: 1, queue: 2, queueTimeoutMs: 3000 },
      },
      { id: 'origin-limit', match: { path: '/origin-limit' }, upstream: ['hangLimited', 'us'] },
      { id: 'geo', match: { path: '/geo' }, upstream: 'world' },
    ],
  };
}

beforeAll(async () => {
  eu = await startEchoOrigin({ region: 'eu-west' });
  us = await startEchoOrigin({ region: 'us-east' });
  ap = await startEchoOrigin({ region: 'ap-south' });
  flaky = await startEchoOrigin({ region: 'eu-flaky' });
  // Accepts requests and never answers.
  hang = createServer(() => {});
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  gw = await startNodeServer(await compileConfig(await config()), { port: 0, hot, log: (r) => logs.push(r) });
});

afterAll(async () => {
  await gw?.drain();
  hang?.closeAllConnections();
  await new Promise<void>((r) => (hang ? hang.close(() => r()) : r()));
  await Promise.all([eu?.close(), us?.close(), ap?.close(), flaky?.close()]);
});

describe('failover', () => {
  it('fails a GET over to the next origin when the first answers 503', async () => {
    flaky.setDown({ mode: '503', retryAfter: 0 });
    try {
      const res = await rawRequest(gw.url, '/f503', { headers: { 'x-request-id': 'f503-1' } });
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ region: 'us-east' });
      const entry = requestLog('f503-1');
      expect(entry?.['origin']).toBe('us');
      expect(entry?.['retries']).toBe(1);
      expect(entry?.['attempts']).toMatchObject([
        { origin: 'flaky', outcome: 'status', status: 503 },
        { origin: 'us', outcome: 'ok', status: 200 },
      ]);
    } finally {
      flaky.setDown(null);
    }
  });

  it('fails a GET over to the next origin when the first is slower than its timeout', async () => {
    const started = Date.now();
    const res = await rawRequest(gw.url, '/slow', { headers: { 'x-request-id': 'slow-1' } });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ region: 'us-east' });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(requestLog('slow-1')?.['attempts']).toMatchObject([
      { origin: 'hang', outcome: 'timeout' },
      { origin: 'us', outcome: 'ok' },
    ]);
  });

  it('sends a POST without a retry block to one origin only, and passes its 503 on', async () => {
    flaky.setDown({ mode: '503', retryAfter: 7 });
    try {
      const res = await rawRequest(gw.url, '/post', { method: 'POST', body: 'x' });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('7');
      // Its Retry-After keeps the origin out of the order of later requests meanwhile.
      expect(gw.gateway.upstreams.snapshot()['steady2']?.retryAfterMs).toBeGreaterThan(5000);
      const next = await rawRequest(gw.url, '/post', { method: 'POST', body: 'x' });
      expect(next.json()).toMatchObject({ region: 'us-east' });
    } finally {
      flaky.setDown(null);
    }
  });

  it('retries a POST the route opts in for when it sent no body, never one that sent a body', async () => {
    flaky.setDown({ mode: '503', retryAfter: 0 });
    try {
      const bodiless = await rawRequest(gw.url, '/post-opt-in', { method: 'POST' });
      expect(bodiless.status).toBe(200);
      expect(bodiless.json()).toMatchObject({ region: 'us-east' });
      const withBody = await rawRequest(gw.url, '/post-opt-in', { method: 'POST', body: 'payload' });
      expect(withBody.status).toBe(503);
    } finally {
      flaky.setDown(null);
    }
  });

  it('does not retry once the retry budget is spent, and says so in the access log', async () => {
    flaky.setDown({ mode: '503', retryAfter: 0 });
    try {
      const res = await rawRequest(gw.url, '/no-budget', { headers: { 'x-request-id': 'budget-1' } });
      expect(res.status).toBe(503);
      expect(requestLog('budget-1')).toMatchObject({ retryBudget: 'exhausted', retries: 0 });
    } finally {
      flaky.setDown(null);
    }
  });

  it("waits out a 503's short Retry-After before trying the same origin again", async () => {
    flaky.setDown({ mode: '503', retryAfter: 1 });
    setTimeout(() => flaky.setDown(null), 300);
    const started = Date.now();
    const res = await rawRequest(gw.url, '/same', { headers: { 'x-request-id': 'same-1' } });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(requestLog('same-1')?.['attempts']).toMatchObject([
      { origin: 'steady', outcome: 'status', status: 503 },
      { origin: 'steady', outcome: 'ok' },
    ]);
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive connect failures, then skips the origin without trying it, logging the transition once', async () => {
    for (let i = 0; i < 3; i++) expect((await rawRequest(gw.url, '/breaker')).status).toBe(200);
    const res = await rawRequest(gw.url, '/breaker', { headers: { 'x-request-id': 'breaker-open-1' } });
    expect(res.status).toBe(200);
    const entry = requestLog('breaker-open-1');
    expect(entry?.['breaker']).toBe('skipped');
    expect(entry?.['attempts']).toMatchObject([
      { origin: 'dead', outcome: 'open' },
      { origin: 'us', outcome: 'ok' },
    ]);
    const opened = logs.filter((l) => l['msg'] === 'circuit breaker open' && l['origin'] === 'dead');
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ reason: 'consecutive', from: 'closed' });
    expect(gw.gateway.upstreams.snapshot()['dead']?.breaker).toBe('open');
  });

  it('probes half-open after the open time and closes again when the origin answers', async () => {
    flaky.setDown({ mode: '503', retryAfter: 0 });
    for (let i = 0; i < 2; i++) await rawRequest(gw.url, '/f503');
    expect(gw.gateway.upstreams.snapshot()['flaky']?.breaker).toBe('open');
    flaky.setDown(null);
    await new Promise((r) => setTimeout(r, 1700));
    const res = await rawRequest(gw.url, '/f503', { headers: { 'x-request-id': 'probe-1' } });
    expect(res.json()).toMatchObject({ region: 'eu-flaky' });
    expect(requestLog('probe-1')?.['breaker']).toBe('probe');
    expect(gw.gateway.upstreams.snapshot()['flaky']?.breaker).toBe('closed');
    const moves = logs
      .filter((l) => l['origin'] === 'flaky' && String(l['msg']).startsWith('circuit breaker'))
      .map((l) => l['breaker']);
    expect(moves.slice(-3)).toEqual(['open', 'half-open', 'closed']);
  });

  it('tries the first choice once in panic mode when every origin is ejected', async () => {
    for (let i = 0; i < 4; i++) await rawRequest(gw.url, '/panic');
    const snap = gw.gateway.upstreams.snapshot();
    expect(snap['dead2']?.breaker).toBe('open');
    const res = await rawRequest(gw.url, '/panic', { headers: { 'x-request-id': 'panic-1' } });
    expect(res.status).toBe(502);
    const entry = requestLog('panic-1');
    expect(entry?.['breaker']).toBe('panic');
    const tried = ((entry?.['attempts'] ?? []) as { outcome: string }[]).filter((a) => a.outcome === 'connect');
    expect(tried).toHaveLength(1);
  });
});

describe('load shedding', () => {
  it('answers 503 problem+json with Retry-After at once above the route limit', async () => {
    const first = rawRequest(gw.url, '/shed');
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const second = await rawRequest(gw.url, '/shed', { headers: { 'x-request-id': 'shed-1' } });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('2');
    expect(second.headers['content-type']).toBe('application/problem+json');
    expect(second.json()).toMatchObject({ code: 'ERR_OVERLOADED', status: 503 });
    expect(requestLog('shed-1')).toMatchObject({ shed: true });
    expect((await first).status).toBe(504);
  });

  it('lets requests over the limit wait in the bounded queue and answers them all', async () => {
    const results = await Promise.all([1, 2, 3].map(() => rawRequest(gw.url, '/queue?delay=200')));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('passes over an origin at its concurrency limit to the next one', async () => {
    const holding = rawRequest(gw.url, '/origin-limit');
    await new Promise((r) => setTimeout(r, 150));
    const res = await rawRequest(gw.url, '/origin-limit', { headers: { 'x-request-id': 'olimit-1' } });
    expect(res.json()).toMatchObject({ region: 'us-east' });
    expect(requestLog('olimit-1')?.['attempts']).toMatchObject([
      { origin: 'hangLimited', outcome: 'shed' },
      { origin: 'us', outcome: 'ok' },
    ]);
    await holding;
  });
});

describe('region choice', () => {
  it('sends a client to the region its country or continent maps to, from a trusted header', async () => {
    const sg = await rawRequest(gw.url, '/geo', { headers: { 'x-client-country': 'SG', 'x-request-id': 'geo-sg' } });
    expect(sg.json()).toMatchObject({ region: 'ap-south' });
    expect(requestLog('geo-sg')?.['clientRegion']).toBe('ap-south');
    const de = await rawRequest(gw.url, '/geo', { headers: { 'x-client-country': 'DE' } });
    expect(de.json()).toMatchObject({ region: 'eu-west' });
    const ca = await rawRequest(gw.url, '/geo', { headers: { 'x-client-country': 'CA' } });
    expect(ca.json()).toMatchObject({ region: 'us-east' });
    const unknown = await rawRequest(gw.url, '/geo');
    expect(unknown.json()).toMatchObject({ region: 'us-east' });
  });

  it('orders the other regions by observed latency, not by config order', async () => {
    const upstreams = gw.gateway.upstreams;
    const route = gw.gateway.config.routes.find((r) => r.id === 'geo');
    if (!route) throw new Error('no geo route');
    const eus = upstreams.originState('eu');
    const aps = upstreams.originState('ap');
    if (!eus || !aps) throw new Error('no state');
    for (let i = 0; i < 5; i++) {
      upstreams.observe(eus, 200);
      upstreams.observe(aps, 20);
    }
    const plan = upstreams.plan(route, { country: 'US' });
    expect(plan.origins.map((s) => s.origin.name)).toEqual(['us', 'ap', 'eu']);
  });
});

describe('active health checks', () => {
  it('takes an origin out of the order after failed probes and back after good ones (timers)', async () => {
    const { createGateway } = await import('../../core/gateway.ts');
    const { createNodeForward } = await import('../../targets/node/forward.ts');
    const primary = await startEchoOrigin({ region: 'eu-west' });
    const backup = await startEchoOrigin({ region: 'us-east' });
    const records: Record<string, unknown>[] = [];
    const compiled = await compileConfig({
      origins: {
        primary: {
          url: primary.url,
          region: 'eu-west',
          healthCheck: { path: '/healthz', intervalMs: 100, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 2 },
        },
        backup: { url: backup.url, region: 'us-east' },
      },
      routes: [{ id: 'hc', match: { path: '/hc' }, upstream: ['primary', 'backup'] }],
    });
    const gateway = createGateway(compiled, {
      forward: createNodeForward({}),
      now: Date.now,
      hot,
      timers: true,
      log: (r) => records.push(r),
    });
    await gateway.ready;
    const regionOf = async (): Promise<unknown> => {
      const res = await gateway.fetch(new Request('http://gw.test/hc'), { waitUntil() {} });
      return ((await res.json()) as { region: unknown }).region;
    };
    try {
      expect(await regionOf()).toBe('eu-west');
      primary.setDown({ mode: '503', retryAfter: 0 });
      const waitFor = async (health: boolean): Promise<void> => {
        const until = Date.now() + 5000;
        while (gateway.upstreams.snapshot()['primary']?.healthy !== health && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await waitFor(false);
      expect(gateway.upstreams.snapshot()['primary']?.healthy).toBe(false);
      expect(records.some((r) => r['msg'] === 'origin unhealthy' && r['origin'] === 'primary')).toBe(true);
      // 503s from the probes only: the health verdict, not a client request, moved traffic.
      primary.setDown(null);
      primary.setDown({ mode: 'refuse' });
      expect(await regionOf()).toBe('us-east');
      primary.setDown(null);
      await waitFor(true);
      expect(await regionOf()).toBe('eu-west');
      expect(records.filter((r) => r['msg'] === 'origin healthy' && r['origin'] === 'primary')).toHaveLength(1);
    } finally {
      gateway.setDraining(true);
      await Promise.all([primary.close(), backup.close()]);
    }
  });

  it('on a runtime without timers, probes only when a request comes, at most once per interval', async () => {
    const { createGateway } = await import('../../core/gateway.ts');
    const { createNodeForward } = await import('../../targets/node/forward.ts');
    const origin = await startEchoOrigin({ region: 'eu-west' });
    const compiled = await compileConfig({
      origins: { one: { url: origin.url, region: 'eu-west', healthCheck: { path: '/healthz', intervalMs: 60_000 } } },
      routes: [{ id: 'r', match: { path: '/r' }, upstream: 'one' }],
    });
    const background: Promise<unknown>[] = [];
    const gateway = createGateway(compiled, { forward: createNodeForward({}), now: Date.now, hot });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await gateway.fetch(new Request('http://gw.test/r'), { waitUntil: (p) => background.push(p) });
        await res.arrayBuffer();
      }
      await Promise.all(background);
      expect(origin.seen.filter((s) => s.url === '/healthz')).toHaveLength(1);
    } finally {
      await origin.close();
    }
  });
});
