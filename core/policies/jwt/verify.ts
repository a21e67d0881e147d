/**
 * Verifies one compact JWS against one issuer with jose's `jwtVerify`, and covers what jose 6.2
 * leaves open: a future `iat` (accepted by jose unless checked), a non-finite or absurd `exp`
 * (`1e999` parses to Infinity and never expires), several candidate keys for a token without
 * kid, HMAC keys, and jose or WebCrypto failures of any kind (a 1024-bit RSA key throws a plain
 * TypeError): every failure is a result here, never a throw, and becomes a 401.
 */
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { CompiledIssuer } from './compile.ts';
import { candidates, importFor, type KeySet } from './keys.ts';

/** Latest `exp` accepted: 9999-12-31T23:59:59Z, in seconds. Beyond is not a real expiry. */
const MAX_EXP_SECONDS = 253_402_300_799;

export type Verified = { ok: true; claims: Record<string, unknown> } | { ok: false; description: string };

export interface TokenHeader {
  alg: string;
  kid: string | null;
}

/** The protected header, or null when it is not a JSON object with a string `alg`. */
export function readHeader(token: string): TokenHeader | null {
  try {
    const h = decodeProtectedHeader(token);
    if (typeof h.alg !== 'string') return null;
    if (h.kid !== undefined && typeof h.kid !== 'string') return null;
    return { alg: h.alg, kid: h.kid ?? null };
  } catch {
    return null;
  }
}

function fail(description: string): Verified {
  return { ok: false, description };
}

/** Words for a jose failure, fixed texts only (no claim values, no token). */
function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'the token is not valid yet (nbf)';
    if (err.claim === 'iss') return 'the token issuer (iss) is not accepted';
    if (err.claim === 'aud') return 'the token audience (aud) is not accepted';
    if (/^[a-z_][a-z0-9_]{0,40}$/i.test(err.claim)) return `the "${err.claim}" claim is missing or invalid`;
    return 'a claim is missing or invalid';
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token algorithm is not accepted';
  if (err instanceof errors.JWTInvalid) return 'the token payload is not a valid JWT claims set';
  return 'the token cannot be verified';
}

/** Checks jose does not make (RFC 7519 §4.1.4-6 numeric dates), on the verified claims. */
function checkDates(claims: JWTPayload, nowSeconds: number, skew: number): string | null {
  const { exp, iat, nbf } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp) || exp > MAX_EXP_SECONDS)
    return 'the token expiry (exp) is not a valid date';
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat)))
    return 'the token issue time (iat) is not a valid date';
  if (typeof iat === 'number' && iat > nowSeconds + skew) return 'the token was issued in the future (iat)';
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf)))
    return 'the token start time (nbf) is not a valid date';
  return null;
}

/**
 * Verifies `token` (grammar already checked) with the issuer's keys. `set` is the issuer's key
 * set for the token's kid (null: none available).
 */
export async function verifyWith(
  token: string,
  header: TokenHeader,
  issuer: CompiledIssuer,
  set: KeySet | null,
  nowMs: number,
): Promise<Verified> {
  if (!issuer.algorithms.includes(header.alg as never)) return fail('the token algorithm is not accepted');
  if (!set) return fail("the issuer's keys are not available");
  const keys = candidates(set, header.alg, header.kid);
  if (keys.length === 0) return fail(header.kid === null ? 'no key matches the token' : 'no key matches the token kid');
  const options = {
    algorithms: issuer.algorithms,
    ...(issuer.issuer !== null ? { issuer: issuer.issuer } : {}),
    ...(issuer.audiences.length > 0 ? { audience: issuer.audiences } : {}),
    clockTolerance: issuer.clockSkewSeconds,
    requiredClaims: issuer.requiredClaims,
    currentDate: new Date(nowMs),
  };
  let description = 'the signature does not verify';
  for (const entry of keys) {
    const key = await importFor(entry, header.alg);
    if (!key) {
      description = 'the key cannot verify this token';
      continue;
    }
    try {
      const { payload } = await jwtVerify(token, key, options);
      const problem = checkDates(payload, nowMs / 1000, issuer.clockSkewSeconds);
      if (problem) return fail(problem);
      return { ok: true, claims: payload as Record<string, unknown> };
    } catch (err) {
      description = describe(err);
      // Only a signature mismatch is worth trying the next candidate for.
      if (!(err instanceof errors.JWSSignatureVerificationFailed) && err instanceof errors.JOSEError) return fail(description);
    }
  }
  return fail(description);
}
