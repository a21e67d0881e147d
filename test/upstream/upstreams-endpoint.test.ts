/**
 * `/_portico/upstreams`: the origins' health, breaker state and latency average as JSON, behind
 * the admin token, on the real Node server with a real loopback origin and a closed port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { closedPort, rawRequest } from '../e2e/_harness.ts';

const TOKEN = 'upstreams-endpoint-test-token-0123456789';
let live: EchoOrigin;
let gw: NodeServer;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  live = await startEchoOrigin({ region: 'us-east' });
  const dead = await closedPort();
  const compiled = await compileConfig(
    {
      admin: { token: { env: 'UPSTREAMS_TEST_ADMIN' } },
      observability: { metrics: {} },
      origins: {
        dead: { url: `http://127.0.0.1:${dead}`, region: 'eu-west', timeoutMs: 1000, breaker: { failures: 2, openMs: 60_000 } },
        live: { url: live.url, region: 'us-east', timeoutMs: 2000 },
      },
      routes: [{ id: 'api', match: { path: '/api/*' }, upstream: ['dead', 'live'] }],
    },
    'upstreams endpoint test',
  );
  gw = await startNodeServer(compiled, {
    port: 0,
    host: '127.0.0.1',
    hot: await loadNodeHot('wasm'),
    log: (r) => logs.push(r),
    secrets: (name) => (name === 'UPSTREAMS_TEST_ADMIN' ? TOKEN : undefined),
  });
});

afterAll(async () => {
  await gw?.drain();
  await live?.close();
});

describe('/_portico/upstreams', () => {
  it('answers 401 without the admin token and with a wrong one, naming what it needs', async () => {
    const none = await rawRequest(gw.url, '/_portico/upstreams');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await rawRequest(gw.url, '/_portico/upstreams', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain(TOKEN);
  });

  it('shows each origin with its region, breaker state, health and EWMA once requests have run', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await rawRequest(gw.url, '/api/x');
      expect(r.status).toBe(200);
    }
    const res = await rawRequest(gw.url, '/_portico/upstreams', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json<{ config: string; origins: Record<string, Record<string, unknown>> }>();
    expect(body.config).toMatch(/^sha256-/);
    expect(body.origins['dead']).toMatchObject({ region: 'eu-west', breaker: 'open', healthy: true });
    expect(body.origins['live']).toMatchObject({ region: 'us-east', breaker: 'closed', healthy: true });
    expect(body.origins['live']?.['ewmaMs']).toEqual(expect.any(Number));
    expect(Number(body.origins['live']?.['samples'])).toBeGreaterThanOrEqual(4);
  });

  it('refuses a POST with 405 and Allow', async () => {
    const res = await rawRequest(gw.url, '/_portico/upstreams', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET, HEAD');
  });
});

describe('/_portico/upstreams with an admin block and no metrics', () => {
  it('is served behind the admin token, and a config without admin has none', async () => {
    const origin = await startEchoOrigin({ region: 'us-east' });
    const base = {
      origins: { live: { url: origin.url, region: 'us-east' } },
      routes: [{ match: { path: '/*' }, upstream: 'live' }],
    };
    const withAdmin = await startNodeServer(
      await compileConfig({ admin: { token: { env: 'UPSTREAMS_TEST_ADMIN' } }, ...base }, 'admin without metrics'),
      {
        port: 0,
        hot: await loadNodeHot('wasm'),
        log: () => {},
        secrets: (name) => (name === 'UPSTREAMS_TEST_ADMIN' ? TOKEN : undefined),
      },
    );
    const without = await startNodeServer(await compileConfig(base, 'no admin'), {
      port: 0,
      hot: await loadNodeHot('wasm'),
      log: () => {},
    });
    try {
      expect((await rawRequest(withAdmin.url, '/_portico/upstreams')).status).toBe(401);
      const ok = await rawRequest(withAdmin.url, '/_portico/upstreams', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(Object.keys(JSON.parse(ok.body).origins)).toEqual(['live']);
      // Without an admin block the path is an ordinary one: the catch-all route forwards it.
      const plain = await rawRequest(without.url, '/_portico/upstreams', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(plain.body).not.toContain('"origins"');
    } finally {
      await withAdmin.drain();
      await without.drain();
      await origin.close();
    }
  });
});
