/**
 * rateLimit keys from the identity an auth policy established (`exchange.identity`: API-key
 * consumer and metadata, JWT sub and claims), and plan limits from the key's metadata. The auth
 * policies set the identity; here the gateway's own exchange is given the identity as the apiKey
 * and jwt policies set it, and the real rateLimit handler runs on it with the real hot path.
 */
import { describe, expect, it } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import type { CompiledConfig } from '../../core/config/compile.ts';
import { RouteExchange } from '../../core/pipeline/exchange.ts';
import { composeRoute, initPolicies } from '../../core/pipeline/compose.ts';
import type { Identity, PolicyRuntime } from '../../core/pipeline/policy.ts';
import { createMemoryCache, createMemoryKV } from '../../core/stores/index.ts';
import { assertNeedsMet } from '../../scripts/build/needs.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';

async function routeHandler(config: PorticoConfig, index = 0, reuse?: { runtime: PolicyRuntime; shared: Map<string, unknown> }) {
  const compiled: CompiledConfig = reuse ? reuse.runtime.config : await compileConfig(config);
  const runtime: PolicyRuntime = reuse?.runtime ?? {
    config: compiled,
    stores: { kv: createMemoryKV(), cache: createMemoryCache() },
    sharedStores: { kv: false, cache: false },
    now: Date.now,
    hot: await loadNodeHot('wasm'),
    log: () => {},
    fetch,
    secret: async () => '',
  };
  const shared = reuse?.shared ?? (await initPolicies(runtime));
  let reached = 0;
  const route = compiled.routes[index]!;
  const handler = await composeRoute(route, runtime, shared, async () => {
    reached++;
    return new Response('ok');
  });
  const send = (identity: Identity | null, client = '192.0.2.1') => {
    const request = new Request('http://gw.test/api');
    const ex = new RouteExchange(
      request,
      new URL(request.url),
      'gw.test',
      '/api',
      route,
      {},
      'req-1',
      client,
      { waitUntil() {} },
      new Headers(),
    );
    ex.identity = identity;
    return handler(ex);
  };
  return { send, reached: () => reached, runtime: { runtime, shared } };
}

const apiKey = (consumer: string, metadata: Record<string, unknown> = {}): Identity => ({
  kind: 'apiKey',
  consumer,
  scopes: [],
  claims: {},
  metadata,
});
const jwt = (sub: string, claims: Record<string, unknown> = {}): Identity => ({
  kind: 'jwt',
  subject: sub,
  scopes: [],
  claims: { sub, ...claims },
  metadata: {},
});

const statuses = async (n: number, send: () => Promise<Response>) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).status);
  return out;
};

describe('rateLimit keys from the identity', () => {
  it('counts per API-key consumer, whatever address the requests come from', async () => {
    const gw = await routeHandler({
      origins: { o: { url: 'http://127.0.0.1:9', region: 'r' } },
      routes: [{ match: { path: '/api' }, upstream: 'o', rateLimit: { key: 'consumer', limits: [{ requests: 2, per: '1m' }] } }],
    });
    expect(await statuses(2, () => gw.send(apiKey('alice'), `10.0.0.${Math.floor(Math.random() * 200)}`))).toEqual([200, 200]);
    expect((await gw.send(apiKey('alice'), '10.9.9.9')).status).toBe(429);
    expect((await gw.send(apiKey('bob'))).status).toBe(200);
    expect(gw.reached()).toBe(3);
  });

  it('counts per JWT claim, and per composite key of sub and route', async () => {
    const gw = await routeHandler({
      origins: { o: { url: 'http://127.0.0.1:9', region: 'r' } },
      routes: [
        {
          id: 'api',
          match: { path: '/api' },
          upstream: 'o',
          rateLimit: {
            limits: [
              { name: 'org', requests: 3, per: '1m', key: { claim: 'org' } },
              { name: 'user', requests: 2, per: '1m', key: ['subject', 'route'] },
            ],
          },
        },
      ],
    });
    expect((await gw.send(jwt('u1', { org: 'acme' }))).status).toBe(200);
    expect((await gw.send(jwt('u1', { org: 'acme' }))).status).toBe(200);
    // u1's own limit is used up; the org still has room.
    const userRefused = await gw.send(jwt('u1', { org: 'acme' }));
    expect(userRefused.status).toBe(429);
    expect(await userRefused.json()).toMatchObject({ limit: 'user' });
    // "org" is checked before "user" (same window: config order), so it counted that refused request too: 3 of 3.
    expect((await gw.send(jwt('u2', { org: 'acme' }))).status).toBe(429);
    expect((await gw.send(jwt('u3', { org: 'globex' }))).status).toBe(200);
  });

  it('takes the limits of the plan named in the API key metadata, and the route limits without one', async () => {
    const gw = await routeHandler({
      origins: { o: { url: 'http://127.0.0.1:9', region: 'r' } },
      limits: {
        free: [{ requests: 1, per: '1m' }],
        pro: [
          { requests: 3, per: '1m' },
          { requests: 100, per: '1d' },
        ],
      },
      routes: [
        {
          match: { path: '/api' },
          upstream: 'o',
          rateLimit: { key: 'consumer', plans: true, limits: [{ requests: 2, per: '1m' }] },
        },
      ],
    });
    expect(await statuses(2, () => gw.send(apiKey('f', { plan: 'free' })))).toEqual([200, 429]);
    const pro = await statuses(4, () => gw.send(apiKey('p', { plan: 'pro' })));
    expect(pro).toEqual([200, 200, 200, 429]);
    const proResponse = await gw.send(apiKey('p2', { plan: 'pro' }));
    expect(proResponse.headers.get('ratelimit-policy')).toBe('"3-per-1m";q=3;w=60, "100-per-1d";q=100;w=86400');
    expect(await statuses(3, () => gw.send(apiKey('n')))).toEqual([200, 200, 429]);
    expect(await statuses(3, () => gw.send(apiKey('u', { plan: 'unknown-plan' })))).toEqual([200, 200, 429]);
  });
});

describe('rateLimit from defaults', () => {
  it('counts defaults.rateLimit gateway-wide per key, and a route can turn it off', async () => {
    const config: PorticoConfig = {
      origins: { o: { url: 'http://127.0.0.1:9', region: 'r' } },
      defaults: { rateLimit: { limits: [{ requests: 2, per: '1m' }] } },
      routes: [
        { id: 'a', match: { path: '/a' }, upstream: 'o' },
        { id: 'b', match: { path: '/b' }, upstream: 'o' },
        { id: 'free', match: { path: '/free' }, upstream: 'o', rateLimit: false },
      ],
    };
    const compiled = await compileConfig(config);
    expect(compiled.routes.map((r) => r.policies.map((p) => p.name))).toEqual([['rateLimit'], ['rateLimit'], []]);
    const a = await routeHandler(config, 0);
    const b = await routeHandler(config, 1, a.runtime);
    expect((await a.send(null)).status).toBe(200);
    expect((await b.send(null)).status).toBe(200);
    // One counter for the gateway: the third request is refused whichever route it takes.
    expect((await a.send(null)).status).toBe(429);
    expect((await b.send(null, '192.0.2.2')).status).toBe(200);
  });
});

describe('portico build and shared counters', () => {
  it('refuses approximate and strict limits on targets without shared counters, naming route and need', async () => {
    const compiled = await compileConfig({
      origins: { o: { url: 'http://127.0.0.1:9', region: 'r' } },
      routes: [
        { id: 'local', match: { path: '/a' }, upstream: 'o', rateLimit: { limits: [{ requests: 1, per: '1s' }] } },
        {
          id: 'strict',
          match: { path: '/b' },
          upstream: 'o',
          rateLimit: { limits: [{ requests: 1, per: '1s', mode: 'strict' }] },
        },
      ],
    });
    expect(() => assertNeedsMet(compiled, 'vercel')).toThrow(
      /route "strict", policy rateLimit: needs an atomic counter store shared across instances, which vercel cannot give/,
    );
    expect(() => assertNeedsMet(compiled, 'wasi')).toThrow(/route "strict"/);
    expect(() => assertNeedsMet(compiled, 'node')).not.toThrow();
    expect(() => assertNeedsMet(compiled, 'cloudflare')).not.toThrow();
    expect(() => assertNeedsMet(compiled, 'deno')).not.toThrow();
  });

  it('refuses to start a strict limit when the target gave no shared counters', async () => {
    await expect(
      routeHandler({
        origins: { o: { url: 'http://127.0.0.1:9', region: 'r' } },
        routes: [
          {
            id: 's',
            match: { path: '/api' },
            upstream: 'o',
            rateLimit: { limits: [{ requests: 1, per: '1s', mode: 'strict' }] },
          },
        ],
      }),
    ).rejects.toThrow(/route "s", rateLimit limit "1-per-1s": mode strict needs a counter store shared by every instance/);
  });
});
