/**
 * The apiKey policy end to end: the Node target (real undici forwarder, real Wasm hot path) in
 * front of a real loopback echo origin, requests over real sockets. What the origin received is
 * read from the origin's own record of its requests.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { generateApiKey, hashApiKey, KV_KEY_PREFIX, takeQueryParam } from '../../core/policies/api-key/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest } from '../e2e/_harness.ts';

const ACME_KEY = generateApiKey();
const ROTATED_OLD = generateApiKey();
const ROTATED_NEW = generateApiKey();
const KV_KEY = generateApiKey();
const KV_DISABLED_KEY = generateApiKey();
const KV_OTHER_KEY = generateApiKey();
const BAD_RECORD_KEY = generateApiKey();

let origin: EchoOrigin;
let gw: NodeServer;
const logs: Record<string, unknown>[] = [];

async function config(): Promise<PorticoConfig> {
  return {
    origins: { echo: { url: origin.url, region: 'local' } },
    apiKeys: {
      acme: {
        hash: await hashApiKey(ACME_KEY),
        plan: 'pro',
        scopes: ['orders:read'],
        limits: { perMinute: 600 },
        metadata: { tier: 2 },
      },
      rotating: { hash: [await hashApiKey(ROTATED_OLD), await hashApiKey(ROTATED_NEW)] },
    },
    routes: [
      { id: 'header', match: { path: '/header' }, upstream: 'echo', apiKey: {} },
      { id: 'query', match: { path: '/query' }, upstream: 'echo', apiKey: { header: false, query: 'api_key' } },
      { id: 'either', match: { path: '/either' }, upstream: 'echo', apiKey: { header: 'x-key', query: 'key' } },
      { id: 'only-rotating', match: { path: '/only-rotating' }, upstream: 'echo', apiKey: { consumers: ['rotating'] } },
      { id: 'kv', match: { path: '/kv' }, upstream: 'echo', apiKey: { kv: { cacheSeconds: 0 } } },
      {
        id: 'kv-limited',
        match: { path: '/kv-limited' },
        upstream: 'echo',
        apiKey: { kv: true, consumers: ['acme', 'kv-consumer'] },
      },
      { id: 'open', match: { path: '/open' }, upstream: 'echo' },
    ],
  };
}

beforeAll(async () => {
  origin = await startEchoOrigin({ region: 'local' });
  gw = await startNodeServer(await compileConfig(await config()), {
    port: 0,
    hot: await loadNodeHot('wasm'),
    log: (r) => logs.push(r),
  });
  const kv = gw.gateway.stores.kv;
  await kv.put(
    KV_KEY_PREFIX + (await hashApiKey(KV_KEY)).slice(7),
    JSON.stringify({ consumer: 'kv-consumer', plan: 'free', limits: { perMinute: 10 } }),
  );
  await kv.put(
    KV_KEY_PREFIX + (await hashApiKey(KV_DISABLED_KEY)).slice(7),
    JSON.stringify({ consumer: 'gone', disabled: true }),
  );
  await kv.put(KV_KEY_PREFIX + (await hashApiKey(KV_OTHER_KEY)).slice(7), JSON.stringify({ consumer: 'other' }));
  await kv.put(KV_KEY_PREFIX + (await hashApiKey(BAD_RECORD_KEY)).slice(7), JSON.stringify({ consumer: 'bad name!' }));
});

afterAll(async () => {
  await gw?.drain();
  await origin?.close();
});

beforeEach(() => {
  origin.seen.length = 0;
  logs.length = 0;
});

function echoed(res: { status: number; body: string }): { path: string; headers: Record<string, string> } {
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body);
}

/** The log records of the requests, as one text: what must never hold a key. */
function logText(): string {
  return JSON.stringify(logs);
}

describe('apiKey: accepted keys', () => {
  it('accepts a key in the x-api-key header and does not forward the header', async () => {
    const res = await rawRequest(gw.url, '/header', { headers: { 'x-api-key': ACME_KEY } });
    const seen = echoed(res);
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(origin.seen).toHaveLength(1);
    const access = logs.find((l) => l['msg'] === 'request');
    expect(access?.['consumer']).toBe('acme');
    expect(logText()).not.toContain(ACME_KEY);
  });

  it('accepts a key in the query and forwards every other parameter byte for byte', async () => {
    const target = `/query?z=%20a+b&api_key=${ACME_KEY}&x=~%7E&x=2&empty=&flag`;
    const seen = echoed(await rawRequest(gw.url, target));
    expect(seen.path).toBe('/query?z=%20a+b&x=~%7E&x=2&empty=&flag');
    expect(origin.seen[0]?.url).toBe('/query?z=%20a+b&x=~%7E&x=2&empty=&flag');
    expect(logText()).not.toContain(ACME_KEY);
  });

  it('drops the query entirely when the key was its only parameter', async () => {
    const seen = echoed(await rawRequest(gw.url, `/query?api_key=${ACME_KEY}`));
    expect(seen.path).toBe('/query');
  });

  it('finds the parameter under an encoded spelling of its name and removes every copy', async () => {
    const seen = echoed(await rawRequest(gw.url, `/query?api%5Fkey=${ACME_KEY}&a=1&api_key=${ACME_KEY}`));
    expect(seen.path).toBe('/query?a=1');
  });

  it('takes the header before the query, and still cuts the query key out', async () => {
    const seen = echoed(await rawRequest(gw.url, `/either?key=wrong&b=2`, { headers: { 'x-key': ACME_KEY } }));
    expect(seen.path).toBe('/either?b=2');
    expect(seen.headers['x-key']).toBeUndefined();
  });

  it('accepts both keys of a consumer whose key is being rotated', async () => {
    for (const key of [ROTATED_OLD, ROTATED_NEW]) {
      echoed(await rawRequest(gw.url, '/only-rotating', { headers: { 'x-api-key': key } }));
    }
    expect(origin.seen).toHaveLength(2);
  });

  it('accepts a key whose record is in the KV store', async () => {
    echoed(await rawRequest(gw.url, '/kv', { headers: { 'x-api-key': KV_KEY } }));
    expect(logs.find((l) => l['msg'] === 'request')?.['consumer']).toBe('kv-consumer');
  });

  it('takes a key added to the KV store at once on a route that does not cache answers', async () => {
    const key = generateApiKey();
    expect((await rawRequest(gw.url, '/kv', { headers: { 'x-api-key': key } })).status).toBe(401);
    await gw.gateway.stores.kv.put(KV_KEY_PREFIX + (await hashApiKey(key)).slice(7), JSON.stringify({ consumer: 'late' }));
    echoed(await rawRequest(gw.url, '/kv', { headers: { 'x-api-key': key } }));
  });
});

describe('apiKey: refused requests never reach the origin', () => {
  async function refused(target: string, headers: Record<string, string>, status: number, code: string) {
    const res = await rawRequest(gw.url, target, { headers });
    expect(res.status, res.body).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()['code']).toBe(code);
    expect(origin.seen).toHaveLength(0);
    for (const value of Object.values(headers)) {
      expect(res.body).not.toContain(value);
      expect(JSON.stringify(res.headers)).not.toContain(value);
    }
    expect(logText()).not.toContain(Object.values(headers)[0] ?? '\u0000');
    return res;
  }

  it('answers 401 ERR_API_KEY_MISSING with an ApiKey challenge naming the header when no key is given', async () => {
    const res = await refused('/header', {}, 401, 'ERR_API_KEY_MISSING');
    expect(res.headers['www-authenticate']).toBe('ApiKey header="x-api-key"');
  });

  it('names both places in the challenge when the route takes a header or a query parameter', async () => {
    const res = await refused('/either', {}, 401, 'ERR_API_KEY_MISSING');
    expect(res.headers['www-authenticate']).toBe('ApiKey header="x-key", query="key"');
    const q = await refused('/query?api_key=', {}, 401, 'ERR_API_KEY_MISSING');
    expect(q.headers['www-authenticate']).toBe('ApiKey query="api_key"');
  });

  it('answers 401 ERR_API_KEY_INVALID for an unknown key and never echoes it', async () => {
    const res = await refused('/header', { 'x-api-key': generateApiKey() }, 401, 'ERR_API_KEY_INVALID');
    expect(res.headers['www-authenticate']).toBe('ApiKey header="x-api-key"');
  });

  it('refuses an unknown key given in the query without echoing it', async () => {
    const key = generateApiKey();
    const res = await rawRequest(gw.url, `/query?api_key=${key}`);
    expect(res.status).toBe(401);
    expect(res.json()['code']).toBe('ERR_API_KEY_INVALID');
    expect(res.body).not.toContain(key);
    expect(origin.seen).toHaveLength(0);
    expect(logText()).not.toContain(key);
  });

  it('refuses two different keys in the query, and a malformed one', async () => {
    for (const target of [`/query?api_key=${ACME_KEY}&api_key=${ROTATED_NEW}`, '/query?api_key=%zz']) {
      const res = await rawRequest(gw.url, target);
      expect(res.status).toBe(401);
      expect(res.json()['code']).toBe('ERR_API_KEY_INVALID');
    }
    expect(origin.seen).toHaveLength(0);
  });

  it('refuses a key of a consumer not allowed on the route', async () => {
    await refused('/only-rotating', { 'x-api-key': ACME_KEY }, 401, 'ERR_API_KEY_INVALID');
  });

  it('refuses a key in the header a route does not read it from', async () => {
    await refused('/query', { 'x-api-key': ACME_KEY }, 401, 'ERR_API_KEY_MISSING');
  });

  it('refuses a key longer than 512 characters without hashing it', async () => {
    await refused('/header', { 'x-api-key': `pk_${'a'.repeat(600)}` }, 401, 'ERR_API_KEY_INVALID');
  });

  it('refuses a disabled KV key and a KV record that is not valid, and logs why without the key', async () => {
    await refused('/kv', { 'x-api-key': KV_DISABLED_KEY }, 401, 'ERR_API_KEY_INVALID');
    expect(logs.some((l) => String(l['msg']).includes('disabled'))).toBe(true);
    logs.length = 0;
    await refused('/kv', { 'x-api-key': BAD_RECORD_KEY }, 401, 'ERR_API_KEY_INVALID');
    expect(logs.some((l) => String(l['msg']).includes('the KV record is not valid: consumer'))).toBe(true);
  });

  it('refuses a KV consumer that the route does not list', async () => {
    await refused('/kv-limited', { 'x-api-key': KV_OTHER_KEY }, 401, 'ERR_API_KEY_INVALID');
    echoed(await rawRequest(gw.url, '/kv-limited', { headers: { 'x-api-key': KV_KEY } }));
    echoed(await rawRequest(gw.url, '/kv-limited', { headers: { 'x-api-key': ACME_KEY } }));
  });

  it('leaves routes without the policy open', async () => {
    echoed(await rawRequest(gw.url, '/open'));
  });
});

describe('apiKey: a failing KV store', () => {
  it('answers 503 ERR_API_KEY_UNAVAILABLE, not 500 and not a pass', async () => {
    const { createGateway } = await import('../../core/gateway.ts');
    const compiled = await compileConfig({
      origins: { echo: { url: origin.url, region: 'local' } },
      routes: [{ match: { path: '/kv' }, upstream: 'echo', apiKey: { kv: true } }],
    });
    const failingKvForTest = {
      get: async () => {
        throw new Error('store down');
      },
      put: async () => {},
      delete: async () => {},
    };
    const records: Record<string, unknown>[] = [];
    const gateway = createGateway(compiled, {
      forward: (url, init) => fetch(url, init),
      now: Date.now,
      hot: await loadNodeHot('twin'),
      stores: { kv: failingKvForTest },
      log: (r) => records.push(r),
    });
    const key = generateApiKey();
    const res = await gateway.fetch(new Request('http://gw.test/kv', { headers: { 'x-api-key': key } }), { waitUntil() {} });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('ERR_API_KEY_UNAVAILABLE');
    expect(origin.seen).toHaveLength(0);
    expect(records.some((r) => r['msg'] === 'API key store unavailable; request refused')).toBe(true);
    expect(JSON.stringify(records)).not.toContain(key);
  });
});

describe('apiKey: identity for later policies', () => {
  it('sets identity.metadata with the plan and limits, for the rate-limit policy', async () => {
    const { createGateway } = await import('../../core/gateway.ts');
    // The identity is observed by the next policy in the chain: here, the identity policy forwarding it.
    const compiled = await compileConfig({
      ...(await config()),
      routes: [
        {
          match: { path: '/who' },
          upstream: 'echo',
          apiKey: {},
          identity: { metadata: { plan: 'x-plan', limits: 'x-limits', tier: 'x-tier' } },
        },
      ],
    });
    const gateway = createGateway(compiled, { forward: (u, i) => fetch(u, i), now: Date.now, hot: await loadNodeHot('twin') });
    const res = await gateway.fetch(new Request('http://gw.test/who', { headers: { 'x-api-key': ACME_KEY } }), {
      waitUntil() {},
    });
    const seen = echoed({ status: res.status, body: await res.text() });
    expect(seen.headers['x-portico-consumer']).toBe('acme');
    expect(seen.headers['x-portico-auth']).toBe('apiKey');
    expect(seen.headers['x-portico-scopes']).toBe('orders:read');
    expect(seen.headers['x-plan']).toBe('pro');
    expect(seen.headers['x-limits']).toBe('{"perMinute":600}');
    expect(seen.headers['x-tier']).toBe('2');
  });
});

describe('takeQueryParam', () => {
  it('keeps every other piece of the query exactly as written, in order', () => {
    expect(takeQueryParam('?a=%41&k=1&b=+&&c', 'k')).toEqual({ values: ['1'], malformed: false, search: '?a=%41&b=+&&c' });
  });
  it('leaves a query without the parameter untouched', () => {
    expect(takeQueryParam('?kk=1&k2=2', 'k')).toEqual({ values: [], malformed: false, search: '?kk=1&k2=2' });
    expect(takeQueryParam('', 'k')).toEqual({ values: [], malformed: false, search: '' });
  });
  it('decodes values as a form does', () => {
    expect(takeQueryParam('?k=a+b%2Bc', 'k').values).toEqual(['a b+c']);
  });
});

describe('apiKey: config errors name their path', () => {
  async function issues(cfg: Record<string, unknown>): Promise<string[]> {
    try {
      await compileConfig({ origins: { echo: { url: 'http://127.0.0.1:9', region: 'local' } }, ...cfg });
    } catch (e) {
      if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
      throw e;
    }
    return [];
  }

  it('never shows what was written instead of a hash (it may be the key itself)', async () => {
    const key = generateApiKey();
    const found = await issues({ apiKeys: { a: { hash: key } }, routes: [] });
    expect(found).toEqual([expect.stringMatching(/^apiKeys\.a\.hash: expected a key hash "sha256:<64 hex digits>".*not shown/)]);
    expect(found.join('\n')).not.toContain(key);
  });

  it('reports an unknown consumer with the defined ones, and a route that could accept no key', async () => {
    const hash = await hashApiKey('pk_x');
    expect(
      await issues({
        apiKeys: { a: { hash }, b: { hash: await hashApiKey('pk_y') } },
        routes: [
          { match: { path: '/x' }, upstream: 'echo', apiKey: { consumers: ['a', 'zz'] } },
          { match: { path: '/y' }, upstream: 'echo', apiKey: { header: false } },
        ],
      }),
    ).toEqual([
      'routes[0].apiKey.consumers[1]: unknown consumer "zz" (defined: a, b)',
      'routes[1].apiKey.header: expected a header or a query parameter to read the key from (both are off)',
    ]);
    expect(await issues({ routes: [{ match: { path: '/x' }, upstream: 'echo', apiKey: {} }] })).toEqual([
      'routes[0].apiKey: no key could ever be accepted: define consumers in the top-level apiKeys block, or turn on kv',
    ]);
  });

  it('refuses one key hash for two consumers, plan inside metadata, and a header the gateway manages', async () => {
    const hash = await hashApiKey('pk_x');
    expect(
      await issues({
        apiKeys: { a: { hash }, b: { hash: hash.toUpperCase().replace('SHA256', 'sha256'), metadata: { plan: 'x' } } },
        routes: [{ match: { path: '/x' }, upstream: 'echo', apiKey: { header: 'Cookie' } }],
      }),
    ).toEqual([
      'apiKeys.b.metadata.plan: write plan as apiKeys.b.plan',
      'apiKeys.b.hash: the same key hash as apiKeys.a (a key belongs to one consumer)',
      'routes[0].apiKey.header: header "cookie" cannot carry an API key (the gateway manages it, or it means something else)',
    ]);
  });

  it('sets apiKey for every route from defaults, and a route turns it off with false', async () => {
    const compiled = await compileConfig({
      origins: { echo: { url: 'http://127.0.0.1:9', region: 'local' } },
      apiKeys: { a: { hash: await hashApiKey('pk_x') } },
      defaults: { apiKey: {} },
      routes: [
        { id: 'on', match: { path: '/on' }, upstream: 'echo' },
        { id: 'off', match: { path: '/off' }, upstream: 'echo', apiKey: false },
      ],
    });
    expect(compiled.routes.map((r) => r.policies.map((p) => p.name))).toEqual([['apiKey'], []]);
  });
});
