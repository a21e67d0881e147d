/**
 * Compile step of the `jwt` policy: the `issuers` and `admin` blocks checked with paths, and a
 * route's block resolved into plain JSON that holds everything its handler needs (the issuers it
 * names, in full). Secrets stay references (`{ env }`): the compiled bundle never holds one.
 */
import type { ConfigIssue } from '../../errors.ts';
import type { SecretRef } from '../../pipeline/policy.ts';
import { type IssuerBlock, JWT_ALGORITHMS, type JwtAlgorithm, type RouteBlock } from './schema.ts';

/** A key given inline, as compiled. */
export type CompiledKey =
  | { type: 'jwk'; jwk: Record<string, unknown> }
  | { type: 'pem'; pem: string }
  | { type: 'secret'; ref: SecretRef };

export interface CompiledJwks {
  url: string;
  minTtlMs: number;
  maxTtlMs: number;
  /** TTL when the response has no max-age (already within the bounds). */
  defaultTtlMs: number;
  cooldownMs: number;
  maxStaleMs: number;
  timeoutMs: number;
  maxBytes: number;
}

export interface CompiledIssuer {
  name: string;
  algorithms: JwtAlgorithm[];
  /** Expected `iss`, or null to accept any. */
  issuer: string | null;
  audiences: string[];
  clockSkewSeconds: number;
  /** Claims that must be present; always has `exp`. */
  requiredClaims: string[];
  revocation: boolean;
  keys: CompiledKey[];
  jwks: CompiledJwks | null;
}

export type TokenSource = { kind: 'bearer' } | { kind: 'header'; name: string } | { kind: 'cookie'; name: string };

export interface CompiledJwt {
  issuers: CompiledIssuer[];
  scopes: string[];
  scopeClaim: string;
  consumerClaim: string | null;
  token: TokenSource;
  maxTokenBytes: number;
  realm: string;
  /** The admin token's reference, when the config has an `admin` block. */
  admin: SecretRef | null;
}

export const DEFAULT_MAX_TOKEN_BYTES = 8192;
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
const DEFAULTS = {
  minTtlSeconds: 60,
  maxTtlSeconds: 3600,
  noMaxAgeSeconds: 600,
  cooldownSeconds: 30,
  maxStaleSeconds: 86_400,
  timeoutMs: 5000,
  maxBytes: 65_536,
};

/** JWK members that hold private or symmetric key material: never accepted in a config. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const SUPPORTED = new Set<string>(JWT_ALGORITHMS);
const KTY_ALGS: Record<string, (alg: string) => boolean> = {
  RSA: (a) => a.startsWith('RS') || a.startsWith('PS'),
  EC: (a) => a.startsWith('ES'),
  OKP: (a) => a === 'EdDSA',
};

function isSecretRef(x: unknown): x is SecretRef {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  return keys.length === 1 && keys[0] === 'env';
}

/** Checks one issuer; pushes every problem under `at` and returns undefined when any was found. */
export function compileIssuer(name: string, block: IssuerBlock, at: string, issues: ConfigIssue[]): CompiledIssuer | undefined {
  const before = issues.length;
  const algorithms: JwtAlgorithm[] = [];
  if (block.algorithms.length === 0) {
    issues.push({ path: `${at}.algorithms`, message: 'expected at least one algorithm (there is no default)' });
  }
  block.algorithms.forEach((alg, i) => {
    if (alg.toLowerCase() === 'none') {
      issues.push({ path: `${at}.algorithms[${i}]`, message: '"none" is never accepted (unsigned tokens, RFC 8725 §3.1)' });
    } else if (!SUPPORTED.has(alg)) {
      issues.push({
        path: `${at}.algorithms[${i}]`,
        message: `unknown algorithm "${alg.slice(0, 20)}" (supported: ${JWT_ALGORITHMS.join(', ')})`,
      });
    } else if (!algorithms.includes(alg as JwtAlgorithm)) algorithms.push(alg as JwtAlgorithm);
  });
  const hasHmac = algorithms.some((a) => a.startsWith('HS'));

  if (block.jwksUrl === undefined && block.keys === undefined) {
    issues.push({ path: at, message: "expected jwksUrl or keys (where the issuer's keys come from)" });
  }
  if (block.jwksUrl !== undefined && block.keys !== undefined) {
    issues.push({ path: at, message: 'expected only one of jwksUrl and keys' });
  }
  if (block.jwksUrl !== undefined && /^https?:\/\/[^/]*@/i.test(block.jwksUrl)) {
    issues.push({ path: `${at}.jwksUrl`, message: 'expected a URL without credentials' });
  }

  const keys: CompiledKey[] = [];
  (block.keys ?? []).forEach((key, i) => {
    const where = `${at}.keys[${i}]`;
    if (typeof key === 'string') {
      const pem = key.trim();
      if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
        issues.push({ path: where, message: 'expected a public key: a private key never belongs in the config' });
      } else if (!/^-----BEGIN PUBLIC KEY-----[\sA-Za-z0-9+/=]+-----END PUBLIC KEY-----$/.test(pem)) {
        issues.push({ path: where, message: 'expected a PEM public key (SPKI, "-----BEGIN PUBLIC KEY-----")' });
      } else if (!algorithms.some((a) => !a.startsWith('HS'))) {
        issues.push({ path: where, message: 'a public key needs an RS, PS, ES or EdDSA algorithm in algorithms' });
      } else keys.push({ type: 'pem', pem });
      return;
    }
    if (isSecretRef(key)) {
      const env = key.env;
      if (typeof env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) {
        issues.push({ path: `${where}.env`, message: 'expected an environment variable name of letters, digits and _' });
      } else if (!hasHmac) {
        issues.push({ path: where, message: 'an HMAC secret needs HS256, HS384 or HS512 in algorithms' });
      } else keys.push({ type: 'secret', ref: { env } });
      return;
    }
    if (typeof key !== 'object' || key === null || Array.isArray(key)) {
      issues.push({
        path: where,
        message: 'expected a public JWK object, a PEM public key string, or an HMAC secret { "env": "NAME" }',
      });
      return;
    }
    const jwk = key as Record<string, unknown>;
    const kty = jwk['kty'];
    if (kty === 'oct') {
      issues.push({ path: where, message: 'an HMAC key is a secret: give it as { "env": "NAME" }, not in the config' });
      return;
    }
    if (typeof kty !== 'string' || !KTY_ALGS[kty]) {
      issues.push({ path: `${where}.kty`, message: 'expected kty "RSA", "EC" or "OKP"' });
      return;
    }
    const secretMember = PRIVATE_MEMBERS.find((m) => m in jwk);
    if (secretMember) {
      issues.push({ path: where, message: 'expected a public JWK: private key members never belong in the config' });
      return;
    }
    const alg = jwk['alg'];
    if (alg !== undefined && (typeof alg !== 'string' || !algorithms.includes(alg as JwtAlgorithm))) {
      issues.push({ path: `${where}.alg`, message: `expected one of the issuer's algorithms (${algorithms.join(', ')})` });
      return;
    }
    const fits = KTY_ALGS[kty] as (a: string) => boolean;
    if (!algorithms.some(fits)) {
      issues.push({
        path: where,
        message: `${kty === 'RSA' ? 'an RSA' : kty === 'EC' ? 'an EC' : 'an OKP'} key needs a matching algorithm in algorithms`,
      });
      return;
    }
    if (jwk['kid'] !== undefined && typeof jwk['kid'] !== 'string') {
      issues.push({ path: `${where}.kid`, message: 'expected kid as a string' });
      return;
    }
    keys.push({ type: 'jwk', jwk: { ...jwk } });
  });

  const t = block.jwks ?? {};
  const minTtl = t.minTtlSeconds ?? DEFAULTS.minTtlSeconds;
  const maxTtl = t.maxTtlSeconds ?? Math.max(DEFAULTS.maxTtlSeconds, minTtl);
  if (minTtl > maxTtl) {
    issues.push({ path: `${at}.jwks.minTtlSeconds`, message: `expected at most maxTtlSeconds (${maxTtl})` });
  }
  if (block.jwks !== undefined && block.jwksUrl === undefined) {
    issues.push({ path: `${at}.jwks`, message: 'jwks tuning needs a jwksUrl' });
  }
  if (issues.length > before) return undefined;

  const requiredClaims = ['exp', ...(block.requiredClaims ?? []).filter((c) => c !== 'exp')];
  return {
    name,
    algorithms,
    issuer: block.issuer ?? null,
    audiences: block.audiences ?? [],
    clockSkewSeconds: block.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
    requiredClaims: [...new Set(requiredClaims)],
    revocation: block.revocation ?? false,
    keys,
    jwks:
      block.jwksUrl === undefined
        ? null
        : {
            url: block.jwksUrl,
            minTtlMs: minTtl * 1000,
            maxTtlMs: maxTtl * 1000,
            defaultTtlMs: Math.min(Math.max(DEFAULTS.noMaxAgeSeconds, minTtl), maxTtl) * 1000,
            cooldownMs: (t.cooldownSeconds ?? DEFAULTS.cooldownSeconds) * 1000,
            maxStaleMs: (t.maxStaleSeconds ?? DEFAULTS.maxStaleSeconds) * 1000,
            timeoutMs: t.timeoutMs ?? DEFAULTS.timeoutMs,
            maxBytes: t.maxBytes ?? DEFAULTS.maxBytes,
          },
  };
}

/** The top-level blocks on their own, once per config. */
export function compileJwtBlocks(config: Record<string, unknown>, issues: ConfigIssue[]): void {
  const issuers = (config['issuers'] ?? {}) as Record<string, IssuerBlock>;
  const hasAdmin = config['admin'] !== undefined;
  for (const [name, block] of Object.entries(issuers)) {
    compileIssuer(name, block, `issuers.${name}`, issues);
    if (block.revocation && !hasAdmin) {
      issues.push({
        path: `issuers.${name}.revocation`,
        message: 'revocation needs an admin block { token: { "env": "NAME" } } (the revocation endpoint is authenticated)',
      });
    }
  }
}

/** A route's block, resolved against `issuers`. */
export function compileJwtRoute(
  block: RouteBlock,
  at: string,
  config: Record<string, unknown>,
  issues: ConfigIssue[],
): CompiledJwt | undefined {
  const before = issues.length;
  const defined = (config['issuers'] ?? {}) as Record<string, IssuerBlock>;
  const names = Object.keys(defined);
  const wanted = typeof block.issuer === 'string' ? [block.issuer] : block.issuer;
  if (wanted.length === 0) issues.push({ path: `${at}.issuer`, message: 'expected at least one issuer name' });
  const issuers: CompiledIssuer[] = [];
  wanted.forEach((name, i) => {
    const where = typeof block.issuer === 'string' ? `${at}.issuer` : `${at}.issuer[${i}]`;
    const issuerBlock = Object.hasOwn(defined, name) ? defined[name] : undefined;
    if (!issuerBlock) {
      issues.push({
        path: where,
        message: `unknown issuer "${name}" (${names.length ? `defined: ${names.join(', ')}` : 'no issuers are defined'})`,
      });
      return;
    }
    // Problems of the issuer itself are reported once, by compileJwtBlocks.
    const compiled = compileIssuer(name, issuerBlock, `issuers.${name}`, []);
    if (compiled && !issuers.some((x) => x.name === name)) issuers.push(compiled);
  });
  if (block.token?.header !== undefined && block.token.cookie !== undefined) {
    issues.push({ path: `${at}.token`, message: 'expected only one of header and cookie' });
  }
  if (issues.length > before || issuers.length !== new Set(wanted).size) return undefined;
  const token: TokenSource =
    block.token?.cookie !== undefined
      ? { kind: 'cookie', name: block.token.cookie }
      : block.token?.header !== undefined && block.token.header.toLowerCase() !== 'authorization'
        ? { kind: 'header', name: block.token.header.toLowerCase() }
        : { kind: 'bearer' };
  const admin = config['admin'] as { token: SecretRef } | undefined;
  return {
    issuers,
    scopes: [...new Set(block.scopes ?? [])],
    scopeClaim: block.scopeClaim ?? 'scope',
    consumerClaim: block.consumerClaim ?? null,
    token,
    maxTokenBytes: block.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES,
    realm: block.realm ?? 'portico',
    admin: admin ? { env: admin.token.env } : null,
  };
}
