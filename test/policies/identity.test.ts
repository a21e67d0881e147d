/**
 * The identity policy: the verified identity forwarded as headers, and client-sent copies of
 * those headers stripped on every route. End to end on the Node target with a real loopback echo
 * origin; what the origin received is read from the origin's own record.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compileConfig, type CompiledConfig, type PorticoConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { RouteExchange } from '../../core/pipeline/exchange.ts';
import type { Identity, PolicyRuntime } from '../../core/pipeline/policy.ts';
import { createMemoryCache, createMemoryKV } from '../../core/stores/index.ts';
import { generateApiKey, hashApiKey } from '../../core/policies/api-key/index.ts';
import { identityHeaderValue, identityPolicy, type CompiledIdentity } from '../../core/policies/identity/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest } from '../e2e/_harness.ts';

const KEY = generateApiKey();
let origin: EchoOrigin;
let gw: NodeServer;
let compiled: CompiledConfig;

/** Every identity header the config below sets anywhere, spoofed by the client, in mixed case. */
const SPOOFED = {
  'X-Portico-Consumer': 'admin',
  'x-portico-subject': 'root',
  'X-PORTICO-SCOPES': 'everything',
  'x-portico-auth': 'jwt',
  'x-user-email': 'ceo@example.com',
  'x-plan': 'enterprise',
};

async function config(): Promise<PorticoConfig> {
  return {
    origins: { echo: { url: origin.url, region: 'local' } },
    apiKeys: {
      acme: {
        hash: await hashApiKey(KEY),
        plan: 'pro',
        scopes: ['orders:read', 'orders:write'],
        metadata: { email: 'ops@acme.test' },
      },
    },
    routes: [
      // The only route with identity: its header names must be stripped on all the others too.
      {
        id: 'auth',
        match: { path: '/auth' },
        upstream: 'echo',
        apiKey: {},
        identity: { metadata: { email: 'x-user-email', plan: 'x-plan' } },
      },
      { id: 'open', match: { path: '/open/*' }, upstream: 'echo' },
      { id: 'transform', match: { path: '/transform' }, upstream: 'echo', requestHeaders: { set: { 'x-other': '1' } } },
    ],
  };
}

beforeAll(async () => {
  origin = await startEchoOrigin({ region: 'local' });
  compiled = await compileConfig(await config());
  gw = await startNodeServer(compiled, { port: 0, hot: await loadNodeHot('wasm'), log: () => {} });
});

afterAll(async () => {
  await gw?.drain();
  await origin?.close();
});

beforeEach(() => {
  origin.seen.length = 0;
});

function received(): Record<string, string | string[] | undefined> {
  expect(origin.seen).toHaveLength(1);
  return origin.seen[0]?.headers ?? {};
}

describe('identity headers', () => {
  it('forwards the consumer, scopes, auth kind and chosen metadata of a verified API key', async () => {
    const res = await rawRequest(gw.url, '/auth', { headers: { 'x-api-key': KEY } });
    expect(res.status).toBe(200);
    const h = received();
    expect(h['x-portico-consumer']).toBe('acme');
    expect(h['x-portico-scopes']).toBe('orders:read orders:write');
    expect(h['x-portico-auth']).toBe('apiKey');
    expect(h['x-user-email']).toBe('ops@acme.test');
    expect(h['x-plan']).toBe('pro');
    // An API key has no subject: the header is not sent at all.
    expect(h['x-portico-subject']).toBeUndefined();
  });

  it('replaces client-sent copies with the verified values on the route with auth', async () => {
    await rawRequest(gw.url, '/auth', { headers: { 'x-api-key': KEY, ...SPOOFED } });
    const h = received();
    expect(h['x-portico-consumer']).toBe('acme');
    expect(h['x-portico-subject']).toBeUndefined();
    expect(h['x-portico-scopes']).toBe('orders:read orders:write');
    expect(h['x-portico-auth']).toBe('apiKey');
    expect(h['x-user-email']).toBe('ops@acme.test');
    expect(h['x-plan']).toBe('pro');
  });

  it('strips client-sent identity headers on routes without auth or identity', async () => {
    for (const target of ['/open/x', '/transform']) {
      origin.seen.length = 0;
      const res = await rawRequest(gw.url, target, { headers: { ...SPOOFED, 'x-kept': 'yes' } });
      expect(res.status).toBe(200);
      const h = received();
      for (const name of Object.keys(SPOOFED)) expect(h[name.toLowerCase()], `${target} ${name}`).toBeUndefined();
      expect(h['x-kept']).toBe('yes');
    }
    expect(compiled.gatewayHeaders).toEqual([
      'x-plan',
      'x-portico-auth',
      'x-portico-consumer',
      'x-portico-scopes',
      'x-portico-subject',
      'x-user-email',
    ]);
  });

  it('refused requests on the identity route never reach the origin, spoofed headers or not', async () => {
    const res = await rawRequest(gw.url, '/auth', { headers: SPOOFED });
    expect(res.status).toBe(401);
    expect(origin.seen).toHaveLength(0);
  });
});

/** A runtime for calling the policy's handler directly (its `create` reads only `log`). */
function policyRuntimeForTest(config: CompiledConfig, log: PolicyRuntime['log']): PolicyRuntime {
  return {
    config,
    stores: { kv: createMemoryKV(), cache: createMemoryCache() },
    sharedStores: { kv: false, cache: false },
    now: Date.now,
    hot: undefined as never,
    log,
    fetch: (u, i) => fetch(u, i),
    secret: async () => {
      throw new Error('no secrets here');
    },
  };
}

describe('identity from a JWT-shaped identity (the jwt policy sets it the same way)', () => {
  it('sends sub, scopes, chosen claims, arrays joined and values encoded; too long values are left out and logged', async () => {
    const cfg = await compileConfig({
      origins: { echo: { url: 'http://127.0.0.1:9', region: 'local' } },
      routes: [
        {
          match: { path: '/x' },
          upstream: 'echo',
          identity: {
            consumer: 'x-client',
            claims: { email: 'x-email', roles: 'x-roles', name: 'x-name', org: 'x-org', huge: 'x-huge', missing: 'x-missing' },
            maxValueLength: 64,
          },
        },
      ],
    });
    const route = cfg.routes[0]!;
    const logs: Record<string, unknown>[] = [];
    const block = route.policies.find((p) => p.name === 'identity')!.config as CompiledIdentity;
    const handler = await identityPolicy.create(
      block,
      policyRuntimeForTest(cfg, (r) => logs.push(r)),
      undefined,
      'routes[0].identity',
    );
    const request = new Request('http://gw.test/x');
    const exchange = new RouteExchange(
      request,
      new URL(request.url),
      'gw.test',
      '/x',
      route,
      {},
      'req-1',
      '',
      { waitUntil() {} },
      new Headers(),
    );
    const identity: Identity = {
      kind: 'jwt',
      subject: 'user\r\nx-admin: 1',
      consumer: 'web-app',
      scopes: ['read', 'write'],
      claims: { email: 'José@example.com', roles: ['a,b', 'c'], name: ' padded ', org: { id: 7 }, huge: 'x'.repeat(65) },
      metadata: {},
    };
    exchange.identity = identity;
    await handler(exchange, async () => new Response('ok'));
    const h = Object.fromEntries(exchange.upstreamHeaders);
    expect(h).toEqual({
      'x-client': 'web-app',
      'x-portico-subject': 'user%0D%0Ax-admin: 1',
      'x-portico-scopes': 'read write',
      'x-portico-auth': 'jwt',
      'x-email': 'Jos%C3%A9@example.com',
      'x-roles': 'a%2Cb,c',
      'x-name': '%20padded%20',
      'x-org': '{"id":7}',
    });
    expect(decodeURIComponent(h['x-portico-subject']!)).toBe('user\r\nx-admin: 1');
    expect(logs).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringContaining('x-huge not sent') })]);
    expect(JSON.stringify(logs)).not.toContain('xxxxxxxx');
  });
});

describe('identityHeaderValue', () => {
  it('keeps printable ASCII and percent-encodes %, controls and non-ASCII so decodeURIComponent gives the value back', () => {
    for (const value of ['plain', '100%', 'tab\there', 'é日本', '\u0000\u007f', 'a\nb']) {
      const encoded = identityHeaderValue(value, ',')!;
      expect(encoded).toMatch(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/);
      expect(decodeURIComponent(encoded)).toBe(value);
    }
    expect(identityHeaderValue('100%', ',')).toBe('100%25');
  });

  it('sends nothing for null, an empty string or an empty array', () => {
    expect(identityHeaderValue(null, ',')).toBeNull();
    expect(identityHeaderValue('', ',')).toBeNull();
    expect(identityHeaderValue([], ' ')).toBeNull();
    expect(identityHeaderValue(undefined, ',')).toBeNull();
  });

  it('joins scopes with spaces and encodes a space inside one', () => {
    expect(identityHeaderValue(['a', 'b c'], ' ')).toBe('a b%20c');
    expect(identityHeaderValue([1, true, null, 'x'], ',')).toBe('1,true,x');
  });
});

describe('identity: config errors name their path', () => {
  async function issues(routes: unknown[], extra: Record<string, unknown> = {}): Promise<string[]> {
    try {
      await compileConfig({ origins: { echo: { url: 'http://127.0.0.1:9', region: 'local' } }, routes, ...extra } as never);
    } catch (e) {
      if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
      throw e;
    }
    return [];
  }

  it('refuses headers the gateway needs, a header used twice, and the route API key header', async () => {
    const found = await issues(
      [
        {
          match: { path: '/x' },
          upstream: 'echo',
          apiKey: { header: 'x-key' },
          identity: { consumer: 'Authorization', subject: 'x-who', claims: { email: 'X-Who', tenant: 'x-key' } },
        },
      ],
      { apiKeys: { a: { hash: await hashApiKey('pk_a') } } },
    );
    expect(found).toEqual([
      'routes[0].identity.consumer: header "authorization" cannot carry identity (the gateway strips identity headers from every request, and this one is needed)',
      'routes[0].identity.claims["email"]: header "x-who" is already used by routes[0].identity.subject',
      'routes[0].identity.claims["tenant"]: header "x-key" is where this route reads its API key',
    ]);
  });

  it('refuses a block with every header turned off', async () => {
    expect(
      await issues([
        { match: { path: '/x' }, upstream: 'echo', identity: { consumer: false, subject: false, scopes: false, kind: false } },
      ]),
    ).toEqual(['routes[0].identity: every identity header is turned off: remove the block, or name a header']);
  });
});
