/**
 * What one JWT verify costs, per algorithm (HS256, ES256, RS256), and what the verified-token
 * cache saves. Rows, per algorithm:
 * - `jose jwtVerify`: the peer, jose alone with the key already imported;
 * - `portico, no cache`: the policy's own path without the cache: token grammar, header, key
 *   candidates, jose's verify and portico's date checks (verify.ts);
 * - `portico handler, cache hit`: the policy's per-request handler on a token it verified
 *   before: grammar, SHA-256 of the token, LRU lookup, identity (what every request after the
 *   first pays until the token's exp).
 * Before timing, every row is checked to accept its token (a row that refuses would time a
 * failure). mitata medians; `summary` prints the ratios.
 *
 * @example
 * // npx tsx bench/jwt-verify.ts
 */
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { bench, do_not_optimize, group, run, summary } from 'mitata';
import { compileConfig } from '../core/config/index.ts';
import { createTwinHot } from '../core/hot/index.ts';
import type { Exchange, PolicyRuntime } from '../core/pipeline/policy.ts';
import { jwtPolicy, type CompiledJwt } from '../core/policies/jwt/index.ts';
import { readHeader, verifyWith } from '../core/policies/jwt/verify.ts';
import { extractToken } from '../core/policies/jwt/token.ts';
import { createMemoryCache, createMemoryKV } from '../core/stores/index.ts';

const SECRET = 'bench-hmac-secret-0123456789abcdef0123456789';
const ALGS = ['HS256', 'ES256', 'RS256'] as const;

async function setup(alg: (typeof ALGS)[number]) {
  let signKey: CryptoKey | Uint8Array;
  let verifyKey: CryptoKey | Uint8Array;
  let keys: unknown[];
  if (alg === 'HS256') {
    signKey = verifyKey = new TextEncoder().encode(SECRET);
    keys = [{ env: 'BENCH_SECRET' }];
  } else {
    const pair = await generateKeyPair(alg, { extractable: true });
    signKey = pair.privateKey;
    verifyKey = pair.publicKey;
    const { exportJWK } = await import('jose');
    keys = [{ ...(await exportJWK(pair.publicKey)), kid: 'k' }];
  }
  const compiled = await compileConfig({
    origins: { o: { url: 'http://127.0.0.1:9', region: 'l' } },
    issuers: { i: { keys, algorithms: [alg], issuer: 'https://bench.test', audiences: ['api'] } },
    routes: [{ match: { path: '/x' }, upstream: 'o', jwt: { issuer: 'i', scopes: ['read'] } }],
  });
  const policy = compiled.routes[0]?.policies[0];
  if (!policy) throw new Error('no jwt policy compiled');
  const runtime: PolicyRuntime = {
    config: compiled,
    stores: { kv: createMemoryKV(), cache: createMemoryCache() },
    sharedStores: { kv: false, cache: false },
    now: Date.now,
    hot: createTwinHot(),
    log: () => {},
    fetch: () => Promise.reject(new Error('no fetch in this benchmark')),
    secret: async () => SECRET,
  };
  const shared = await jwtPolicy.init!(runtime);
  const handler = await jwtPolicy.create(policy.config as CompiledJwt, runtime, shared, 'routes[0].jwt');
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iss: 'https://bench.test', aud: 'api', sub: 'u', scope: 'read', iat: now, exp: now + 3600 })
    .setProtectedHeader({ alg, kid: 'k' })
    .sign(signKey);
  const issuer = (policy.config as CompiledJwt).issuers[0]!;
  const set = shared.issuers.get('i')!.inline;
  const headers = new Headers({ authorization: `Bearer ${token}` });
  const ok = new Response('ok');
  const next = async () => ok;
  const exchange = () =>
    ({
      request: { headers },
      context: { waitUntil() {} },
      logFields: {},
      identity: null,
      requestId: 'bench',
      refuse: (code: string) => new Response(code, { status: 401 }),
    }) as unknown as Exchange;

  const joseVerify = () => jwtVerify(token, verifyKey, { algorithms: [alg], issuer: 'https://bench.test', audience: 'api' });
  const porticoNoCache = async () => {
    const got = extractToken(headers, { kind: 'bearer' }, 8192);
    if (got.kind !== 'token') throw new Error('grammar');
    return verifyWith(got.token, readHeader(got.token)!, issuer, set, Date.now());
  };
  const cacheHit = () => handler(exchange(), next);

  // Check every row accepts its token before timing it.
  await joseVerify();
  const v = await porticoNoCache();
  if (!v.ok) throw new Error(`${alg}: portico refused the bench token: ${v.description}`);
  const r = await cacheHit();
  if (r !== ok) throw new Error(`${alg}: the handler refused the bench token`);
  return { joseVerify, porticoNoCache, cacheHit };
}

const rows = await Promise.all(ALGS.map(async (alg) => [alg, await setup(alg)] as const));
for (const [alg, r] of rows) {
  group(alg, () => {
    summary(() => {
      bench(`${alg} jose jwtVerify`, async () => do_not_optimize(await r.joseVerify()));
      bench(`${alg} portico, no cache`, async () => do_not_optimize(await r.porticoNoCache()));
      bench(`${alg} portico handler, cache hit`, async () => do_not_optimize(await r.cacheHit()));
    });
  });
}
const { benchmarks } = await run();

// A compact table: medians (p50, less sensitive to a shared machine than the mean), and ratios.
const p50 = new Map<string, number>();
for (const trial of benchmarks) {
  const stats = trial.runs[0]?.stats;
  if (stats) p50.set(trial.alias, stats.p50 / 1000);
}
console.log('\n| algorithm | jose jwtVerify (µs) | portico, no cache (µs) | portico, cache hit (µs) | cache hit vs no cache |');
console.log('| --- | --- | --- | --- | --- |');
for (const alg of ALGS) {
  const jose = p50.get(`${alg} jose jwtVerify`) ?? Number.NaN;
  const none = p50.get(`${alg} portico, no cache`) ?? Number.NaN;
  const hit = p50.get(`${alg} portico handler, cache hit`) ?? Number.NaN;
  console.log(`| ${alg} | ${jose.toFixed(1)} | ${none.toFixed(1)} | ${hit.toFixed(1)} | ${(none / hit).toFixed(1)}x faster |`);
}
