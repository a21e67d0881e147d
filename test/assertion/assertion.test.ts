/**
 * The gateway assertion, signed by a real gateway (the Node target) and checked by a real
 * loopback origin with `verifyGatewayAssertion`, as an origin written in TypeScript would. The
 * origin keeps what it received (method, request-target, headers), so the tampering cases are
 * that same request with one thing changed.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  assertionSignedText,
  createNonceCache,
  parseAssertionHeader,
  verifyGatewayAssertion,
  type AssertionResult,
} from '../../core/assertion/index.ts';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { ConfigError, PorticoError, SecretError } from '../../core/errors.ts';
import { generateApiKey, hashApiKey } from '../../core/policies/api-key/index.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest } from '../e2e/_harness.ts';

const SECRET = 'test-assertion-secret-0123456789abcdef';
const KEY = generateApiKey();

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** What the origin's own check said, on the message as it arrived. */
  verdict: AssertionResult;
  /** The same check on a WHATWG Request built from it (as an origin behind a Fetch adapter sees it). */
  requestVerdict: AssertionResult;
}

let verifying: Server;
let originUrl: string;
const received: Received[] = [];
let gw: NodeServer;

async function startVerifyingOrigin(): Promise<void> {
  verifying = createServer((req, res) => {
    req.resume();
    void (async () => {
      const verdict = await verifyGatewayAssertion(req, { secret: SECRET, maxAgeSeconds: 30 });
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method ?? 'GET', headers });
      const requestVerdict = await verifyGatewayAssertion(request, { secret: SECRET, maxAgeSeconds: 30 });
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, verdict, requestVerdict });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: verdict.ok }));
    })();
  });
  await new Promise<void>((r) => verifying.listen(0, '127.0.0.1', r));
  originUrl = `http://127.0.0.1:${(verifying.address() as AddressInfo).port}`;
}

async function config(): Promise<PorticoConfig> {
  return {
    trustedProxies: [],
    origins: {
      app: { url: originUrl, region: 'local' },
      based: { url: `${originUrl}/base/`, region: 'local' },
    },
    apiKeys: { acme: { hash: await hashApiKey(KEY), scopes: ['read'] } },
    routes: [
      {
        id: 'signed',
        match: { path: '/signed/*' },
        upstream: 'app',
        rewrite: { stripPrefix: '/signed' },
        apiKey: { query: 'api_key' },
        identity: {},
        assertion: { secret: { env: 'ASSERTION_SECRET' }, signHeaders: ['x-forwarded-for'] },
      },
      { id: 'based', match: { path: '/based/*' }, upstream: 'based', assertion: { secret: { env: 'ASSERTION_SECRET' } } },
      { id: 'plain', match: { path: '/plain' }, upstream: 'app' },
    ],
  };
}

beforeAll(async () => {
  await startVerifyingOrigin();
  gw = await startNodeServer(await compileConfig(await config()), {
    port: 0,
    hot: await loadNodeHot('wasm'),
    log: () => {},
    secrets: (name) => (name === 'ASSERTION_SECRET' ? SECRET : undefined),
  });
});

afterAll(async () => {
  await gw?.drain();
  await new Promise<void>((r) => (verifying ? verifying.close(() => r()) : r()));
});

beforeEach(() => {
  received.length = 0;
});

/** Sends one request through the gateway and returns what the origin received. */
async function through(target: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Received> {
  const res = await rawRequest(gw.url, target, init);
  expect(res.status, res.body).toBe(200);
  expect(received).toHaveLength(1);
  return received[0] as Received;
}

/** The received request with some things changed, in the shape an origin's check takes. */
function altered(r: Received, change: { method?: string; url?: string; headers?: Record<string, string | undefined> }) {
  const headers: IncomingHttpHeaders = { ...r.headers };
  for (const [k, v] of Object.entries(change.headers ?? {})) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  return { method: change.method ?? r.method, url: change.url ?? r.url, headers };
}

describe('gateway assertion: a real gateway signs, a real origin verifies', () => {
  it('verifies at the origin, over the rewritten path, the query without the key, and the identity headers', async () => {
    const r = await through(`/signed/orders/7?b=2&api_key=${KEY}&a=%20x`, { headers: { 'x-portico-subject': 'spoofed' } });
    expect(r.url).toBe('/orders/7?b=2&a=%20x');
    expect(r.verdict).toMatchObject({ ok: true });
    expect(r.requestVerdict).toMatchObject({ ok: true });
    if (!r.verdict.ok) return;
    expect(r.verdict.headers).toEqual({
      'x-portico-consumer': 'acme',
      'x-portico-scopes': 'read',
      'x-portico-auth': 'apiKey',
      'x-forwarded-for': '127.0.0.1',
    });
    const parsed = parseAssertionHeader(String(r.headers['x-portico-assertion']));
    expect(parsed).toMatchObject({
      version: 'v1',
      names: ['x-portico-consumer', 'x-portico-subject', 'x-portico-scopes', 'x-portico-auth', 'x-forwarded-for'],
    });
    // The subject is signed as absent: the client's copy was stripped and none was sent.
    expect(r.headers['x-portico-subject']).toBeUndefined();
  });

  it("signs the path with the origin's base path, as the origin receives it", async () => {
    const r = await through('/based/x?q=1');
    expect(r.url).toBe('/base/based/x?q=1');
    expect(r.verdict).toMatchObject({ ok: true, headers: {} });
    expect(String(r.headers['x-portico-assertion'])).toMatch(/^v1;t=\d+;n=[A-Za-z0-9_-]{22};h=;sig=[A-Za-z0-9_-]{43}$/);
  });

  it('fails for a changed path, query, method, signed header, or a signed-absent header added', async () => {
    const r = await through(`/signed/orders/7?b=2&api_key=${KEY}`);
    const check = (req: ReturnType<typeof altered>) => verifyGatewayAssertion(req, { secret: SECRET });
    expect(await check(altered(r, {}))).toMatchObject({ ok: true });
    expect(await check(altered(r, { url: '/orders/8?b=2' }))).toEqual({ ok: false, reason: 'signature' });
    expect(await check(altered(r, { url: '/orders/7?b=3' }))).toEqual({ ok: false, reason: 'signature' });
    expect(await check(altered(r, { url: '/orders/7' }))).toEqual({ ok: false, reason: 'signature' });
    expect(await check(altered(r, { method: 'DELETE' }))).toEqual({ ok: false, reason: 'signature' });
    expect(await check(altered(r, { headers: { 'x-portico-consumer': 'admin' } }))).toEqual({ ok: false, reason: 'signature' });
    expect(await check(altered(r, { headers: { 'x-portico-consumer': undefined } }))).toEqual({ ok: false, reason: 'signature' });
    expect(await check(altered(r, { headers: { 'x-portico-subject': 'root' } }))).toEqual({ ok: false, reason: 'signature' });
    expect(await check(altered(r, { headers: { 'x-forwarded-for': '10.0.0.1' } }))).toEqual({ ok: false, reason: 'signature' });
  });

  it('fails for a changed timestamp, nonce or header list, and for another secret', async () => {
    const r = await through(`/signed/x?api_key=${KEY}`);
    const value = String(r.headers['x-portico-assertion']);
    const swap = (from: RegExp, to: string) => altered(r, { headers: { 'x-portico-assertion': value.replace(from, to) } });
    const t = Number(/;t=(\d+)/.exec(value)?.[1]);
    expect(await verifyGatewayAssertion(swap(/;t=\d+/, `;t=${t - 1}`), { secret: SECRET })).toEqual({
      ok: false,
      reason: 'signature',
    });
    // Another first character of the nonce (never the same one: a random nonce starts with "A" 1 time in 64).
    const first = /;n=(.)/.exec(value)?.[1];
    expect(await verifyGatewayAssertion(swap(/;n=./, `;n=${first === 'A' ? 'B' : 'A'}`), { secret: SECRET })).toMatchObject({
      ok: false,
    });
    expect(await verifyGatewayAssertion(swap(/,x-forwarded-for;/, ';'), { secret: SECRET })).toEqual({
      ok: false,
      reason: 'signature',
    });
    expect(await verifyGatewayAssertion(altered(r, {}), { secret: 'another-secret-another-secret-000' })).toEqual({
      ok: false,
      reason: 'signature',
    });
    expect(
      await verifyGatewayAssertion(altered(r, {}), { secret: ['old-secret-old-secret-old-secret-0', SECRET] }),
    ).toMatchObject({
      ok: true,
    });
  });

  it('fails when too old, or too far in the future', async () => {
    const r = await through(`/signed/x?api_key=${KEY}`);
    const t = Number(/;t=(\d+)/.exec(String(r.headers['x-portico-assertion']))?.[1]);
    const at = (seconds: number) => () => seconds * 1000;
    const req = altered(r, {});
    expect(await verifyGatewayAssertion(req, { secret: SECRET, maxAgeSeconds: 30, now: at(t + 30) })).toMatchObject({ ok: true });
    expect(await verifyGatewayAssertion(req, { secret: SECRET, maxAgeSeconds: 30, now: at(t + 31) })).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(await verifyGatewayAssertion(req, { secret: SECRET, now: at(t - 6) })).toEqual({ ok: false, reason: 'future' });
    expect(await verifyGatewayAssertion(req, { secret: SECRET, now: at(t - 5) })).toMatchObject({ ok: true });
  });

  it('refuses a replay with a nonce cache, and two requests never share a nonce', async () => {
    const nonces = createNonceCache({ maxEntries: 100 });
    const first = await through(`/signed/x?api_key=${KEY}`);
    received.length = 0;
    const second = await through(`/signed/x?api_key=${KEY}`);
    expect(await verifyGatewayAssertion(altered(first, {}), { secret: SECRET, nonces })).toMatchObject({ ok: true });
    expect(await verifyGatewayAssertion(altered(first, {}), { secret: SECRET, nonces })).toEqual({
      ok: false,
      reason: 'replayed',
    });
    expect(await verifyGatewayAssertion(altered(second, {}), { secret: SECRET, nonces })).toMatchObject({ ok: true });
    expect(nonces.size).toBe(2);
  });

  it('refuses an assertion that does not cover a header the origin requires', async () => {
    const r = await through('/based/x');
    expect(await verifyGatewayAssertion(altered(r, {}), { secret: SECRET, requireSigned: ['x-portico-consumer'] })).toEqual({
      ok: false,
      reason: 'unsigned-header',
    });
  });

  it('says missing, malformed or version for what is not a v1 assertion', async () => {
    const r = await through('/based/x');
    const withValue = (value: string | undefined) => altered(r, { headers: { 'x-portico-assertion': value } });
    expect(await verifyGatewayAssertion(withValue(undefined), { secret: SECRET })).toEqual({ ok: false, reason: 'missing' });
    expect(await verifyGatewayAssertion(withValue('v1;nonsense'), { secret: SECRET })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(await verifyGatewayAssertion(withValue('v2;t=1;sig=x'), { secret: SECRET })).toEqual({ ok: false, reason: 'version' });
    const padded = String(r.headers['x-portico-assertion']).replace(/sig=(.*)$/, 'sig=$1=');
    expect(await verifyGatewayAssertion(withValue(padded), { secret: SECRET })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('strips a client-sent assertion on a route that does not sign', async () => {
    const r = await through('/plain', { headers: { 'x-portico-assertion': 'v1;t=1;n=AAAAAAAAAAAAAAAAAAAAAA;h=;sig=x' } });
    expect(r.headers['x-portico-assertion']).toBeUndefined();
    expect(r.verdict).toEqual({ ok: false, reason: 'missing' });
  });

  it('never lets a refused request reach the origin, signed or not', async () => {
    const res = await rawRequest(gw.url, '/signed/x?api_key=pk_wrong');
    expect(res.status).toBe(401);
    expect(received).toHaveLength(0);
  });

  it('signs the text the algorithm documents', () => {
    expect(
      assertionSignedText({
        timestamp: 1764620000,
        nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
        method: 'GET',
        target: '/a?b=1',
        headers: [
          ['x-portico-consumer', 'acme'],
          ['x-portico-subject', ''],
        ],
      }),
    ).toBe('portico-assertion-v1\n1764620000\nAAAAAAAAAAAAAAAAAAAAAA\nGET\n/a?b=1\nx-portico-consumer:acme\nx-portico-subject:');
  });
});

describe('gateway assertion: startup and config errors', () => {
  it('does not start when the secret is not set, naming the path and the variable', async () => {
    const compiled = await compileConfig(await config());
    const err = await startNodeServer(compiled, {
      port: 0,
      hot: await loadNodeHot('twin'),
      log: () => {},
      secrets: () => undefined,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SecretError);
    // Routes start together: whichever asks first names its own path.
    expect((err as SecretError).message).toMatch(
      /^routes\[[01]\]\.assertion\.secret: secret ASSERTION_SECRET is not set in this runtime's environment$/,
    );
  });

  it('does not start with a short secret, and does not print it', async () => {
    const compiled = await compileConfig(await config());
    const err = await startNodeServer(compiled, {
      port: 0,
      hot: await loadNodeHot('twin'),
      log: () => {},
      secrets: () => 'short-one',
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PorticoError);
    expect(String((err as Error).message)).toMatch(
      /^routes\[[01]\]\.assertion\.secret: secret ASSERTION_SECRET is shorter than 32 characters/,
    );
    expect(String((err as Error).message)).not.toContain('short-one');
  });

  it('refuses a route whose origins differ in base path, and a secret written in clear', async () => {
    const err = await compileConfig({
      origins: { a: { url: 'http://127.0.0.1:9/a', region: 'x' }, b: { url: 'http://127.0.0.1:9/b', region: 'x' } },
      defaults: { assertion: { secret: { env: 'S' } } },
      routes: [
        { match: { path: '/x' }, upstream: ['a', 'b'] },
        { match: { path: '/y' }, upstream: ['a', 'b'], assertion: false },
        { match: { path: '/z' }, upstream: 'a', assertion: { secret: 'hunter2-in-clear' } },
      ],
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const lines = (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    // The shape error of routes[2] does not hide the reference problem of routes[0].
    expect(lines).toEqual([
      'routes[2].assertion.secret: expected a secret reference { "env": "VARIABLE" } (secrets are never written in the config), got a string (not shown: this field may hold a secret)',
      'routes[0].upstream: the origins a, b have different base paths, and the route signs a gateway assertion over the path the origin receives: give them one base path',
    ]);
    const err2 = await compileConfig({
      origins: { a: { url: 'http://127.0.0.1:9/a', region: 'x' }, b: { url: 'http://127.0.0.1:9/b', region: 'x' } },
      defaults: { assertion: { secret: { env: 'S' } } },
      routes: [
        { match: { path: '/x' }, upstream: ['a', 'b'] },
        { match: { path: '/y' }, upstream: ['a', 'b'], assertion: false },
      ],
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err2 as ConfigError).issues).toEqual([
      {
        path: 'routes[0].upstream',
        message:
          'the origins a, b have different base paths, and the route signs a gateway assertion over the path the origin receives: give them one base path',
      },
    ]);
  });
});
