/**
 * Config errors of the jwt policy, each naming its exact path, and what the policy declares it
 * needs from a target.
 */
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../../core/config/index.ts';
import { ConfigError } from '../../../core/errors.ts';
import { assertNeedsMet, unmetNeeds } from '../../../scripts/build/needs.ts';
import { startGateway } from './_harness.ts';

const origins = { o: { url: 'http://127.0.0.1:9', region: 'local' } };
const JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
};

async function errorsOf(config: unknown): Promise<string[]> {
  try {
    await compileConfig(config);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('jwt config', () => {
  it('names the path and the defined issuers for an unknown issuer', async () => {
    const errors = await errorsOf({
      origins,
      issuers: { a: { keys: [JWK], algorithms: ['ES256'] }, b: { keys: [JWK], algorithms: ['ES256'] } },
      routes: [
        { match: { path: '/x' }, upstream: 'o', jwt: { issuer: 'x' } },
        { match: { path: '/y' }, upstream: 'o', jwt: { issuer: ['a', 'zz'] } },
      ],
    });
    expect(errors).toContain('routes[0].jwt.issuer: unknown issuer "x" (defined: a, b)');
    expect(errors).toContain('routes[1].jwt.issuer[1]: unknown issuer "zz" (defined: a, b)');
  });

  it('refuses "none", unknown algorithms, a missing allowlist and keys in the wrong form', async () => {
    const errors = await errorsOf({
      origins,
      issuers: {
        n: { keys: [JWK], algorithms: ['ES256', 'none'] },
        u: { keys: [JWK], algorithms: ['ES512'] },
        e: { keys: [JWK], algorithms: [] },
        nokeys: { algorithms: ['RS256'] },
        both: { jwksUrl: 'https://idp.test/jwks', keys: [JWK], algorithms: ['ES256'] },
        oct: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }], algorithms: ['HS256'] },
        priv: {
          keys: [{ ...JWK, d: 'PRIVATEMATERIAL' }, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'],
          algorithms: ['ES256'],
        },
        hmacNoAlg: { keys: [{ env: 'SECRET' }], algorithms: ['ES256'] },
        wrongAlg: { keys: [{ ...JWK, alg: 'RS256' }], algorithms: ['ES256'] },
        ttl: { jwksUrl: 'https://idp.test/jwks', algorithms: ['ES256'], jwks: { minTtlSeconds: 900, maxTtlSeconds: 60 } },
      },
      routes: [{ match: { path: '/x' }, upstream: 'o', jwt: { issuer: 'n' } }],
    });
    expect(errors).toContain('issuers.n.algorithms[1]: "none" is never accepted (unsigned tokens, RFC 8725 §3.1)');
    expect(errors.some((e) => e.startsWith('issuers.u.algorithms[0]: unknown algorithm "ES512"'))).toBe(true);
    expect(errors).toContain('issuers.e.algorithms: expected at least one algorithm (there is no default)');
    expect(errors.some((e) => e.startsWith('issuers.nokeys: expected jwksUrl or keys'))).toBe(true);
    expect(errors).toContain('issuers.both: expected only one of jwksUrl and keys');
    expect(errors.some((e) => e.startsWith('issuers.oct.keys[0]: an HMAC key is a secret'))).toBe(true);
    expect(errors.some((e) => e.startsWith('issuers.priv.keys[0]: expected a public JWK'))).toBe(true);
    expect(errors.some((e) => e.startsWith('issuers.priv.keys[1]: expected a public key'))).toBe(true);
    expect(errors).toContain('issuers.hmacNoAlg.keys[0]: an HMAC secret needs HS256, HS384 or HS512 in algorithms');
    expect(errors.some((e) => e.startsWith('issuers.wrongAlg.keys[0].alg:'))).toBe(true);
    expect(errors).toContain('issuers.ttl.jwks.minTtlSeconds: expected at most maxTtlSeconds (60)');
    // No key material in any message.
    expect(errors.join('\n')).not.toMatch(/PRIVATEMATERIAL|c2VjcmV0|AAAA/);
  });

  it('requires the algorithms allowlist (no default)', async () => {
    const errors = await errorsOf({ origins, issuers: { a: { keys: [JWK] } }, routes: [] });
    expect(errors).toContain('issuers.a: missing required field "algorithms"');
  });

  it('requires an admin block when an issuer turns revocation on', async () => {
    const errors = await errorsOf({
      origins,
      issuers: { a: { keys: [JWK], algorithms: ['ES256'], revocation: true } },
      routes: [],
    });
    expect(errors.some((e) => e.startsWith('issuers.a.revocation: revocation needs an admin block'))).toBe(true);
  });

  it('declares alg:<ALG> for each allowed algorithm, and kv when revocation is on', async () => {
    const compiled = await compileConfig({
      origins,
      issuers: {
        ps: { jwksUrl: 'https://idp.test/jwks', algorithms: ['PS256', 'ES256'] },
        rv: { keys: [JWK], algorithms: ['ES256'], revocation: true },
      },
      admin: { token: { env: 'ADMIN' } },
      routes: [
        { id: 'ps', match: { path: '/ps' }, upstream: 'o', jwt: { issuer: 'ps' } },
        { id: 'rv', match: { path: '/rv' }, upstream: 'o', jwt: { issuer: 'rv' } },
      ],
    });
    // Both blocks carry the admin token's reference: WASI reads no secrets.
    expect(unmetNeeds(compiled, 'wasi')).toEqual([
      { route: 'ps', policy: 'jwt', need: 'alg:PS256' },
      { route: 'ps', policy: 'jwt', need: 'secrets' },
      { route: 'rv', policy: 'jwt', need: 'kv' },
      { route: 'rv', policy: 'jwt', need: 'secrets' },
      { route: '', policy: 'admin', need: 'secrets' },
    ]);
    expect(unmetNeeds(compiled, 'vercel')).toEqual([{ route: 'rv', policy: 'jwt', need: 'kv' }]);
    expect(unmetNeeds(compiled, 'deno')).toEqual([]);
    // The compiled bundle holds the reference, never a secret.
    expect(JSON.stringify(compiled)).toContain('"env":"ADMIN"');
  });

  it('applies defaults.jwt to every route, and false turns it off on one', async () => {
    const compiled = await compileConfig({
      origins,
      issuers: { a: { keys: [JWK], algorithms: ['ES256'] } },
      defaults: { jwt: { issuer: 'a' } },
      routes: [
        { id: 'on', match: { path: '/on' }, upstream: 'o' },
        { id: 'off', match: { path: '/off' }, upstream: 'o', jwt: false },
      ],
    });
    expect(compiled.routes.find((r) => r.id === 'on')?.policies.map((p) => p.name)).toEqual(['jwt']);
    expect(compiled.routes.find((r) => r.id === 'off')?.policies).toEqual([]);
  });

  it('fails startup, naming the path and the variable, for a missing or too short HMAC secret', async () => {
    const config = {
      origins,
      issuers: { h: { keys: [{ env: 'JWT_SECRET' }], algorithms: ['HS256'] } },
      routes: [{ match: { path: '/x' }, upstream: 'o', jwt: { issuer: 'h' } }],
    };
    await expect(startGateway(config, { secrets: {} })).rejects.toThrow('issuers.h.keys[0]: secret JWT_SECRET is not set');
    const short = startGateway(config, { secrets: { JWT_SECRET: 'too-short-secret' } });
    await expect(short).rejects.toThrow('issuers.h.keys[0]: the HMAC secret in JWT_SECRET is shorter than 32 bytes');
    await expect(short).rejects.not.toThrow('too-short-secret');
  });
});

describe('what the gateway-wide blocks need of a target', () => {
  it('names observability secrets and the OTLP push (waitUntil) where the target lacks them', async () => {
    const compiled = await compileConfig({
      origins,
      admin: { token: { env: 'ADMIN' } },
      observability: {
        metrics: {},
        otlp: { endpoint: 'http://127.0.0.1:4318', headers: { authorization: { env: 'OTLP_AUTH' } } },
      },
      routes: [{ id: 'r', match: { path: '/*' }, upstream: 'o' }],
    });
    expect(unmetNeeds(compiled, 'wasi')).toEqual([
      { route: '', policy: 'observability', need: 'secrets' },
      { route: '', policy: 'observability.otlp', need: 'waitUntil' },
    ]);
    expect(unmetNeeds(compiled, 'cloudflare')).toEqual([]);
    expect(() => assertNeedsMet(compiled, 'wasi')).toThrow(
      /observability\.otlp: needs work after the response \(waitUntil\), which wasi cannot give/,
    );
  });
});
