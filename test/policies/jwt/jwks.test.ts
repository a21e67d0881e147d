/**
 * JWKS faults against a real loopback JWKS server: max-age within bounds, the last good set kept
 * while the server is down (with back-off), a slow server cut by the timeout, an oversized body,
 * rotation (a new kid accepted after one refetch, no 401 storm), a flood of unknown kids (one
 * fetch per cooldown), single-flight, and the set shared across gateways through the KV store.
 * The gateways run on a clock the tests move, so TTLs are checked without waiting.
 */
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryKV } from '../../../core/stores/index.ts';
import {
  type EchoServer,
  type JwksServer,
  makeKey,
  mint,
  startEcho,
  startGateway,
  startJwksServer,
  type TestGateway,
  type TestKey,
} from './_harness.ts';

let echo: EchoServer;
let keyA: TestKey;
let keyB: TestKey;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  echo = await startEcho();
  keyA = await makeKey('ES256', 'key-a');
  keyB = await makeKey('ES256', 'key-b');
});

afterAll(async () => {
  for (const o of open.reverse()) await o.close();
  await echo?.close();
});

async function setup(
  keys: JWK[],
  jwks: Record<string, number> = {},
  options: { kv?: ReturnType<typeof createMemoryKV>; clock?: { now: number }; server?: JwksServer } = {},
): Promise<{ server: JwksServer; gw: TestGateway }> {
  const server = options.server ?? (await startJwksServer(keys));
  if (!options.server) open.push(server);
  const gw = await startGateway(
    {
      origins: { echo: { url: echo.url, region: 'local' } },
      issuers: {
        idp: { jwksUrl: `${server.url}/.well-known/jwks.json`, algorithms: ['ES256', 'HS256'], issuer: 'https://idp.test', jwks },
      },
      routes: [{ match: { path: '/api/*' }, upstream: 'echo', jwt: { issuer: 'idp' } }],
    },
    { ...(options.kv ? { kv: options.kv } : {}), ...(options.clock ? { clock: options.clock } : {}) },
  );
  open.push(gw);
  return { server, gw };
}

function token(gw: TestGateway, key: TestKey, kid = key.kid): Promise<string> {
  return mint(key.privateKey, { alg: 'ES256', kid }, { iss: 'https://idp.test', sub: 'u' }, gw.clock.now);
}

async function status(gw: TestGateway, t: string): Promise<number> {
  const res = await gw.request('/api/x', { authorization: `Bearer ${t}` });
  await res.arrayBuffer();
  return res.status;
}

describe('jwks cache', () => {
  it('keeps a key set for its Cache-Control max-age, then refetches', async () => {
    const { server, gw } = await setup([keyA.publicJwk], { minTtlSeconds: 10, maxTtlSeconds: 3600 });
    server.cacheControl = 'public, max-age=120';
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    expect(server.fetches).toBe(1);
    gw.advance(100_000);
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    expect(server.fetches).toBe(1);
    gw.advance(30_000);
    // Stale: served from the cache while a refetch runs (the harness awaits waitUntil work).
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    expect(server.fetches).toBe(2);
  });

  it('bounds max-age by the configured minimum and maximum TTL', async () => {
    const { server, gw } = await setup([keyA.publicJwk], { minTtlSeconds: 60, maxTtlSeconds: 600 });
    server.cacheControl = 'max-age=0';
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    gw.advance(59_000);
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    expect(server.fetches).toBe(1);
    server.cacheControl = 'max-age=999999';
    gw.advance(2000);
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    expect(server.fetches).toBe(2);
    gw.advance(599_000);
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    expect(server.fetches).toBe(2);
    gw.advance(2000);
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    expect(server.fetches).toBe(3);
  });

  it('keeps the last good key set while the JWKS is down, backs off, and gives up after the max stale age', async () => {
    const { server, gw } = await setup([keyA.publicJwk], { minTtlSeconds: 60, maxTtlSeconds: 60, maxStaleSeconds: 3600 });
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    server.status = 503;
    gw.advance(61_000);
    for (let i = 0; i < 20; i++) expect(await status(gw, await token(gw, keyA))).toBe(200);
    // One failed refetch, then back-off: not one fetch per request.
    expect(server.fetches).toBe(2);
    expect(gw.logs.some((r) => r.msg === 'JWKS fetch failed; keeping the last good key set')).toBe(true);
    gw.advance(3600_000);
    const res = await gw.request('/api/x', { authorization: `Bearer ${await token(gw, keyA)}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain("the issuer's keys are not available");
    server.status = 200;
    gw.advance(400_000);
    expect(await status(gw, await token(gw, keyA))).toBe(200);
  });

  it('cuts a slow JWKS fetch at its timeout and answers 401, not 5xx', async () => {
    const { server, gw } = await setup([keyA.publicJwk], { timeoutMs: 300 });
    server.delayMs = 3000;
    const started = Date.now();
    expect(await status(gw, await token(gw, keyA))).toBe(401);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(gw.logs.some((r) => r.msg === 'JWKS fetch failed; no key set yet' && r['cause'] === 'timeout')).toBe(true);
  });

  it('refuses a JWKS body over maxBytes', async () => {
    const { server, gw } = await setup([keyA.publicJwk], { maxBytes: 4096 });
    server.padBytes = 100_000;
    expect(await status(gw, await token(gw, keyA))).toBe(401);
    expect(gw.logs.some((r) => String(r['cause']).includes('larger than 4096'))).toBe(true);
  });

  it('accepts a rotated-in kid after one refetch, with no 401 storm among concurrent requests', async () => {
    const { server, gw } = await setup([keyA.publicJwk]);
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    expect(server.fetches).toBe(1);
    server.keys = [keyA.publicJwk, keyB.publicJwk];
    const tokens = await Promise.all(Array.from({ length: 30 }, () => token(gw, keyB)));
    const statuses = await Promise.all(tokens.map((t) => status(gw, t)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(server.fetches).toBe(2);
    // The old key still works, and nothing more is fetched.
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    expect(server.fetches).toBe(2);
  });

  it('makes at most one fetch per cooldown for a flood of 200 unknown kids', async () => {
    const { server, gw } = await setup([keyA.publicJwk], { cooldownSeconds: 30 });
    expect(await status(gw, await token(gw, keyA))).toBe(200);
    const flood = await Promise.all(Array.from({ length: 200 }, (_, i) => token(gw, keyA, `unknown-${i}`)));
    const statuses = await Promise.all(flood.map((t) => status(gw, t)));
    expect(statuses.every((s) => s === 401)).toBe(true);
    expect(server.fetches).toBeLessThanOrEqual(2);
    for (const t of flood.slice(0, 50)) expect(await status(gw, t)).toBe(401);
    expect(server.fetches).toBeLessThanOrEqual(2);
    gw.advance(31_000);
    expect(await status(gw, flood[0] as string)).toBe(401);
    expect(server.fetches).toBeLessThanOrEqual(3);
    // Good tokens kept working through the flood.
    expect(await status(gw, await token(gw, keyA))).toBe(200);
  });

  it('fetches once for many concurrent first requests (single-flight)', async () => {
    const { server, gw } = await setup([keyA.publicJwk]);
    server.delayMs = 100;
    const tokens = await Promise.all(Array.from({ length: 25 }, () => token(gw, keyA)));
    const statuses = await Promise.all(tokens.map((t) => status(gw, t)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(server.fetches).toBe(1);
  });

  it('shares the key set across gateways (isolates) through the KV store', async () => {
    const clock = { now: Date.now() };
    const kv = createMemoryKV({ now: () => clock.now });
    const first = await setup([keyA.publicJwk], {}, { kv, clock });
    expect(await status(first.gw, await token(first.gw, keyA))).toBe(200);
    expect(first.server.fetches).toBe(1);
    const second = await setup([], {}, { kv, clock, server: first.server });
    expect(await status(second.gw, await token(second.gw, keyA))).toBe(200);
    expect(first.server.fetches).toBe(1);
  });

  it('verifies HMAC keys served in the JWKS (jose JWKS helpers refuse oct keys)', async () => {
    const secret = new TextEncoder().encode('remote-hmac-secret-0123456789abcdef');
    const { gw } = await setup([{ kty: 'oct', kid: 'h1', alg: 'HS256', k: Buffer.from(secret).toString('base64url') }]);
    const t = await mint(secret, { alg: 'HS256', kid: 'h1' }, { iss: 'https://idp.test' }, gw.clock.now);
    expect(await status(gw, t)).toBe(200);
  });
});
