/**
 * The Cloudflare build under miniflare 4, with a real Workers KV namespace bound as PORTICO_KV
 * (plain workerd has none configured): the JWT policy keeps the issuer's key set in KV and the
 * revocation list there, as on Cloudflare's edge. The JWKS is served by a loopback origin, the
 * requests go through miniflare's dispatchFetch, and what KV holds is read back through
 * miniflare's own KV API. A strict rate limit counts in the build's Durable Object class.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuild } from '../../scripts/build/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';

const ADMIN_TOKEN = 'miniflare-admin-token-of-at-least-32-chars';
let dir: string;
let echo: EchoOrigin;
let jwksServer: Server;
let jwksFetches = 0;
let mf: Miniflare;
let sign: (claims: Record<string, unknown>) => Promise<string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-miniflare-'));
  echo = await startEchoOrigin({ region: 'edge' });
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
  jwksServer = createServer((_req, res) => {
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(jwks);
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  sign = (claims) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: 'user-1', iat: now, exp: now + 600, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(privateKey);
  };
  const config = join(dir, 'portico.config.json');
  await writeFile(
    config,
    JSON.stringify({
      origins: { echo: { url: echo.url, region: 'edge' } },
      issuers: { idp: { jwksUrl, algorithms: ['ES256'], revocation: true } },
      admin: { token: { env: 'PORTICO_ADMIN_TOKEN' } },
      routes: [
        { id: 'secure', match: { path: '/secure/*' }, upstream: 'echo', jwt: { issuer: 'idp' } },
        {
          id: 'limited',
          match: { path: '/limited' },
          upstream: 'echo',
          rateLimit: { key: 'route', limits: [{ requests: 3, per: '1m', mode: 'strict', onStoreError: 'closed' }] },
        },
      ],
    }),
  );
  const build = await runBuild({ target: 'cloudflare', config, out: join(dir, 'out') });
  mf = new Miniflare({
    modules: true,
    scriptPath: build.main,
    modulesRoot: build.outDir,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-01-01',
    kvNamespaces: ['PORTICO_KV'],
    // The binding the build's wrangler.toml declares for strict and approximate limits.
    durableObjects: { PORTICO_COUNTERS: 'PorticoCounters' },
    bindings: { PORTICO_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  await mf.ready;
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await echo?.close();
  await new Promise<void>((r) => (jwksServer ? jwksServer.close(() => r()) : r()));
  await rm(dir, { recursive: true, force: true });
});

async function kvKeys(): Promise<string[]> {
  // miniflare's KV namespace type is Workers' own, which this project's DOM types do not declare.
  const kv = (await mf.getKVNamespace('PORTICO_KV')) as unknown as { list(): Promise<{ keys: { name: string }[] }> };
  return (await kv.list()).keys.map((k) => k.name);
}

describe('Workers KV under miniflare', () => {
  it('accepts a JWT whose key came from the JWKS, and keeps the key set in Workers KV', async () => {
    const res = await mf.dispatchFetch('http://gw.test/secure/a', { headers: { authorization: `Bearer ${await sign({})}` } });
    expect(res.status, await res.clone().text()).toBe(200);
    await res.arrayBuffer();
    expect(jwksFetches).toBe(1);
    const keys = await kvKeys();
    expect(keys.some((k) => k.includes('jwks'))).toBe(true);
  });

  it('revokes a jti through the admin endpoint: the token is refused from then on, and KV holds the entry', async () => {
    const token = await sign({ jti: 'revoke-me' });
    const before = await mf.dispatchFetch('http://gw.test/secure/b', { headers: { authorization: `Bearer ${token}` } });
    expect(before.status).toBe(200);
    await before.arrayBuffer();
    const revoke = await mf.dispatchFetch('http://gw.test/_portico/revocations', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jti: 'revoke-me', ttlSeconds: 120 }),
    });
    expect(revoke.status, await revoke.clone().text()).toBe(201);
    await revoke.arrayBuffer();
    const after = await mf.dispatchFetch('http://gw.test/secure/c', { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    const body = (await after.json()) as { code: string };
    expect(body.code).toBe('ERR_TOKEN_REVOKED');
    expect((await kvKeys()).some((k) => k.includes('revoke-me'))).toBe(true);
  });

  it('refuses the admin endpoint without the admin token from the Worker binding', async () => {
    const res = await mf.dispatchFetch('http://gw.test/_portico/revocations?jti=revoke-me', {
      headers: { authorization: 'Bearer wrong' },
    });
    expect(res.status).toBe(401);
    await res.arrayBuffer();
  });

  it('enforces a strict limit in the Durable Object the build exports, and declares it in wrangler.toml', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await mf.dispatchFetch('http://gw.test/limited');
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const toml = await readFile(join(dir, 'out', 'wrangler.toml'), 'utf8');
    expect(toml).toContain('class_name = "PorticoCounters"');
    expect(toml).toContain('name = "PORTICO_COUNTERS"');
  });
});
