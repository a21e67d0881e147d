/**
 * `jwt`: a route that needs a JSON Web Token from one of the named `issuers`. jose 6.2 does the
 * JWS and claim checks (well kept, Web Crypto only, runs on every target); portico adds what jose
 * leaves to its caller (verify.ts, token.ts, jwks-cache.ts, keys.ts): strict token grammar, a
 * JWKS cache with stale-if-error, back-off and single-flight on every runtime, HMAC keys, tokens
 * without kid, date sanity, a verified-token cache, and revocation.
 */
import { PorticoError } from '../../errors.ts';
import { definePolicy, type Exchange, type PolicyRuntime, type SecretRef } from '../../pipeline/policy.ts';
import { type CompiledIssuer, type CompiledJwt, compileJwtBlocks, compileJwtRoute } from './compile.ts';
import { createJwksSource, type JwksSource } from './jwks-cache.ts';
import { jwkEntry, type KeyEntry, type KeySet, keySet, pemEntry, secretEntry } from './keys.ts';
import { isRevoked, revocationEndpoint } from './revocation.ts';
import { adminSchema, issuersSchema, routeSchema } from './schema.ts';
import { extractToken } from './token.ts';
import { createVerifiedCache, tokenKey, type VerifiedCache } from './verified-cache.ts';
import { readHeader, type Verified, verifyWith } from './verify.ts';

export type { CompiledJwt } from './compile.ts';
export { JWT_ALGORITHMS } from './schema.ts';

/** Shortest HMAC secret accepted, in bytes. */
const MIN_HMAC_SECRET_BYTES = 32;

/** One issuer at run time: its compiled block and where its keys come from. */
interface IssuerRuntime {
  compiled: CompiledIssuer;
  inline: KeySet | null;
  remote: JwksSource | null;
}

/** What `init` builds once per gateway, shared by every jwt route. */
export interface JwtShared {
  issuers: Map<string, IssuerRuntime>;
  verified: VerifiedCache;
  adminToken: string | null;
}

async function buildIssuer(issuer: CompiledIssuer, runtime: PolicyRuntime): Promise<IssuerRuntime> {
  let inline: KeySet | null = null;
  if (issuer.jwks === null) {
    const entries: KeyEntry[] = [];
    for (const [i, key] of issuer.keys.entries()) {
      if (key.type === 'secret') {
        const at = `issuers.${issuer.name}.keys[${i}]`;
        const secret = await runtime.secret(key.ref, at);
        // RFC 7518 §3.2: an HMAC key at least as long as the hash output (32 bytes for HS256).
        if (new TextEncoder().encode(secret).byteLength < MIN_HMAC_SECRET_BYTES) {
          throw new PorticoError(
            'ERR_CONFIG_INVALID',
            `${at}: the HMAC secret in ${key.ref.env} is shorter than ${MIN_HMAC_SECRET_BYTES} bytes (RFC 7518 §3.2)`,
          );
        }
        entries.push(secretEntry(secret));
      } else if (key.type === 'pem') entries.push(pemEntry(key.pem));
      else {
        const entry = jwkEntry(key.jwk, issuer.algorithms);
        if (entry) entries.push(entry);
      }
    }
    inline = keySet(entries);
  }
  const remote =
    issuer.jwks === null
      ? null
      : createJwksSource({
          issuer: issuer.name,
          jwks: issuer.jwks,
          algorithms: issuer.algorithms,
          fetch: runtime.fetch,
          kv: runtime.stores.kv,
          now: runtime.now,
          log: runtime.log,
          onFetch: (outcome) => runtime.metrics?.jwksFetch(issuer.name, outcome),
        });
  return { compiled: issuer, inline, remote };
}

/** Scopes of a claim: a space-separated string (RFC 8693 §4.2) or an array of strings. */
function scopesOf(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(' ').filter((s) => s !== '');
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === 'string');
  return [];
}

const quote = (s: string) => s.replace(/["\\]/g, '');

/** The issuers to try for a token: by its (unverified) `iss` when the route names several. */
function issuersFor(token: string, issuers: IssuerRuntime[]): IssuerRuntime[] {
  if (issuers.length === 1) return issuers;
  let iss: unknown;
  try {
    const payload = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
    const text = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    iss = (JSON.parse(text) as { iss?: unknown }).iss;
  } catch {
    return [];
  }
  const named = issuers.filter((i) => i.compiled.issuer !== null && i.compiled.issuer === iss);
  return named.length > 0 ? named : issuers.filter((i) => i.compiled.issuer === null);
}

export const jwtPolicy = definePolicy({
  name: 'jwt',
  phase: 'auth',
  bodies: 'none',
  defaultable: true,
  schema: routeSchema,
  blocks: { issuers: issuersSchema, admin: adminSchema },
  compileBlocks: compileJwtBlocks,
  compile: (block, { at, issues, config }) => compileJwtRoute(block, at, config, issues),
  needs(compiled: CompiledJwt) {
    const algs = compiled.issuers.flatMap((i) => i.algorithms.map((a) => `alg:${a}` as const));
    return compiled.issuers.some((i) => i.revocation) ? ['kv', ...algs] : algs;
  },
  describe(compiled: CompiledJwt) {
    const names = compiled.issuers.map((i) => i.name).join(', ');
    return `issuer ${names}${compiled.scopes.length ? `, scopes ${compiled.scopes.join(' ')}` : ''}`;
  },
  async init(runtime): Promise<JwtShared> {
    const issuers = new Map<string, IssuerRuntime>();
    let admin: SecretRef | null = null;
    for (const route of runtime.config.routes) {
      for (const policy of route.policies) {
        if (policy.name !== 'jwt') continue;
        const compiled = policy.config as CompiledJwt;
        admin ??= compiled.admin;
        for (const issuer of compiled.issuers) {
          if (!issuers.has(issuer.name)) issuers.set(issuer.name, await buildIssuer(issuer, runtime));
        }
      }
    }
    const adminToken = admin ? await runtime.secret(admin, 'admin.token') : null;
    return { issuers, verified: createVerifiedCache(), adminToken };
  },
  endpoints(runtime, shared) {
    const revocation = [...shared.issuers.values()].some((i) => i.compiled.revocation);
    return revocation && shared.adminToken !== null
      ? [revocationEndpoint(runtime.stores.kv, shared.adminToken, runtime.now)]
      : [];
  },
  create(compiled, runtime, shared) {
    const issuers = compiled.issuers.map((i) => shared.issuers.get(i.name) as IssuerRuntime);
    const names = new Set(issuers.map((i) => i.compiled.name));
    const realm = quote(compiled.realm);
    const missingHeaders = { 'www-authenticate': `Bearer realm="${realm}"` };
    const invalid = (ex: Exchange, description: string, code: 'ERR_AUTH_INVALID' | 'ERR_TOKEN_REVOKED' = 'ERR_AUTH_INVALID') =>
      ex.refuse(code, `The bearer token was refused: ${description}.`, {
        'www-authenticate': `Bearer realm="${realm}", error="invalid_token", error_description="${quote(description)}"`,
      });
    const needed = compiled.scopes.join(' ');
    const forbidden = `Bearer realm="${realm}", error="insufficient_scope", scope="${quote(needed)}"`;

    async function verify(
      token: string,
      waitUntil: (p: Promise<unknown>) => void,
    ): Promise<Verified & { issuer?: IssuerRuntime }> {
      const header = readHeader(token);
      if (!header) return { ok: false, description: 'the token header is not valid' };
      const tryIssuers = issuersFor(token, issuers);
      if (tryIssuers.length === 0) return { ok: false, description: 'the token issuer (iss) is not accepted' };
      let last: Verified = { ok: false, description: 'the token cannot be verified' };
      for (const issuer of tryIssuers) {
        const set = issuer.inline ?? (await (issuer.remote as JwksSource).keys(header.kid, waitUntil));
        last = await verifyWith(token, header, issuer.compiled, set, runtime.now());
        if (last.ok) return { ...last, issuer };
      }
      return last;
    }

    return async (ex, next) => {
      const got = extractToken(ex.request.headers, compiled.token, compiled.maxTokenBytes);
      if (got.kind === 'missing') return ex.refuse('ERR_AUTH_MISSING', 'This route needs a bearer token.', missingHeaders);
      if (got.kind === 'bad') return invalid(ex, got.description);
      let claims: Record<string, unknown>;
      let issuer: IssuerRuntime;
      try {
        const key = tokenKey(got.token);
        const hit = shared.verified.get(key, runtime.now());
        if (hit && names.has(hit.issuer)) {
          claims = hit.claims;
          issuer = shared.issuers.get(hit.issuer) as IssuerRuntime;
        } else {
          const result = await verify(got.token, (p) => ex.context.waitUntil(p));
          if (!result.ok) return invalid(ex, result.description);
          // Frozen: the same object is handed to every later request with this token.
          claims = Object.freeze(result.claims);
          issuer = result.issuer as IssuerRuntime;
          shared.verified.set(key, { issuer: issuer.compiled.name, claims, expiresAt: (claims['exp'] as number) * 1000 });
        }
        if (issuer.compiled.revocation && (await isRevoked(runtime.stores.kv, claims))) {
          return invalid(ex, 'the token has been revoked', 'ERR_TOKEN_REVOKED');
        }
      } catch (err) {
        // jose, WebCrypto or a store failed in a way no check above foresaw: still a 401, never a 500.
        runtime.log({
          level: 'warn',
          msg: 'jwt verification failed unexpectedly',
          requestId: ex.requestId,
          cause: err instanceof Error ? err.name : 'error',
        });
        return invalid(ex, 'the token cannot be verified');
      }
      const scopes = scopesOf(claims[compiled.scopeClaim]);
      const subject = typeof claims['sub'] === 'string' ? claims['sub'] : undefined;
      ex.logFields['auth'] = 'jwt';
      ex.logFields['issuer'] = issuer.compiled.name;
      if (subject !== undefined) ex.logFields['sub'] = subject;
      for (const scope of compiled.scopes) {
        if (!scopes.includes(scope)) {
          return ex.refuse(
            'ERR_INSUFFICIENT_SCOPE',
            `This route needs the scope${compiled.scopes.length > 1 ? 's' : ''} ${needed}.`,
            { 'www-authenticate': forbidden },
            { scope: needed },
          );
        }
      }
      const consumer = compiled.consumerClaim !== null ? claims[compiled.consumerClaim] : undefined;
      ex.identity = {
        kind: 'jwt',
        ...(subject !== undefined ? { subject } : {}),
        ...(typeof consumer === 'string' ? { consumer } : {}),
        scopes,
        claims,
        metadata: {},
      };
      return next();
    };
  },
});
