/**
 * A set of verification keys and the choice of candidates for one token. jose imports the keys
 * (`importJWK`, `importSPKI`); the set is ours because jose's JWKS helpers refuse HMAC (`oct`)
 * keys and refuse a token without `kid` when several keys match, where portico tries the matching
 * candidates, a bounded number of them.
 */
import { importJWK, importSPKI } from 'jose';
import type { JwtAlgorithm } from './schema.ts';

/** Most keys tried for one token (a token without kid against a set of several keys). */
export const MAX_CANDIDATES = 4;
/** Most keys kept from one key set. */
export const MAX_KEYS = 64;

export type VerifyKey = CryptoKey | Uint8Array;

export interface KeyEntry {
  kid: string | null;
  /** `RSA`, `EC`, `OKP`, `oct`, or `pem` (a PEM SPKI, type known only once imported). */
  kty: string;
  /** The key's own `alg`, when it names one. */
  alg: string | null;
  crv: string | null;
  jwk?: Record<string, unknown>;
  pem?: string;
  secret?: Uint8Array;
  /** Imports per algorithm; null when the key does not import for that algorithm. */
  imported: Map<string, Promise<VerifyKey | null>>;
}

export interface KeySet {
  entries: KeyEntry[];
  kids: Set<string>;
}

function fits(entry: KeyEntry, alg: string): boolean {
  if (entry.alg !== null && entry.alg !== alg) return false;
  switch (entry.kty) {
    case 'oct':
      return alg.startsWith('HS');
    case 'RSA':
      return alg.startsWith('RS') || alg.startsWith('PS');
    case 'EC':
      return (alg === 'ES256' && entry.crv === 'P-256') || (alg === 'ES384' && entry.crv === 'P-384');
    case 'OKP':
      return alg === 'EdDSA' && entry.crv === 'Ed25519';
    case 'pem':
      return !alg.startsWith('HS');
    default:
      return false;
  }
}

/** An entry from a public JWK (inline or from a JWKS); null when it is not a usable verification key. */
export function jwkEntry(jwk: Record<string, unknown>, algorithms: readonly JwtAlgorithm[]): KeyEntry | null {
  const kty = jwk['kty'];
  if (typeof kty !== 'string' || !['RSA', 'EC', 'OKP', 'oct'].includes(kty)) return null;
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return null;
  if (kty !== 'oct' && 'd' in jwk) return null; // a private key published by mistake: not ours to use
  if (kty === 'oct' && typeof jwk['k'] !== 'string') return null;
  const alg = typeof jwk['alg'] === 'string' ? jwk['alg'] : null;
  if (alg !== null && !algorithms.includes(alg as JwtAlgorithm)) return null;
  const entry: KeyEntry = {
    kid: typeof jwk['kid'] === 'string' ? jwk['kid'] : null,
    kty,
    alg,
    crv: typeof jwk['crv'] === 'string' ? jwk['crv'] : null,
    jwk,
    imported: new Map(),
  };
  return algorithms.some((a) => fits(entry, a)) ? entry : null;
}

export function pemEntry(pem: string): KeyEntry {
  return { kid: null, kty: 'pem', alg: null, crv: null, pem, imported: new Map() };
}

export function secretEntry(secret: string): KeyEntry {
  return { kid: null, kty: 'oct', alg: null, crv: null, secret: new TextEncoder().encode(secret), imported: new Map() };
}

export function keySet(entries: KeyEntry[]): KeySet {
  const kept = entries.slice(0, MAX_KEYS);
  const kids = new Set<string>();
  for (const e of kept) if (e.kid !== null) kids.add(e.kid);
  return { entries: kept, kids };
}

/** A key set from a JWKS document (RFC 7517 §5); unusable keys are left out. */
export function keySetFromJwks(document: unknown, algorithms: readonly JwtAlgorithm[]): KeySet | null {
  if (typeof document !== 'object' || document === null) return null;
  const keys = (document as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) return null;
  const entries: KeyEntry[] = [];
  for (const k of keys) {
    if (typeof k !== 'object' || k === null || Array.isArray(k)) continue;
    const entry = jwkEntry(k as Record<string, unknown>, algorithms);
    if (entry) entries.push(entry);
  }
  return keySet(entries);
}

/**
 * The keys to try for a token: those with its kid; else (no kid on the token, or no key carries
 * that kid) those without a kid... and, for a token without kid, every key that fits the
 * algorithm. At most MAX_CANDIDATES.
 */
export function candidates(set: KeySet, alg: string, kid: string | null): KeyEntry[] {
  const out: KeyEntry[] = [];
  if (kid !== null && set.kids.has(kid)) {
    for (const e of set.entries) if (e.kid === kid && fits(e, alg)) out.push(e);
    return out.slice(0, MAX_CANDIDATES);
  }
  for (const e of set.entries) {
    if (out.length === MAX_CANDIDATES) break;
    if ((kid === null || e.kid === null) && fits(e, alg)) out.push(e);
  }
  return out;
}

/** The key for `alg`, imported once per (key, algorithm); null when it does not import. */
export function importFor(entry: KeyEntry, alg: string): Promise<VerifyKey | null> {
  let p = entry.imported.get(alg);
  if (!p) {
    p = doImport(entry, alg).catch(() => null);
    entry.imported.set(alg, p);
  }
  return p;
}

async function doImport(entry: KeyEntry, alg: string): Promise<VerifyKey | null> {
  if (entry.secret) return entry.secret;
  if (entry.pem) return importSPKI(entry.pem, alg);
  if (entry.jwk) {
    const { alg: _alg, key_ops: _ops, ext: _ext, ...rest } = entry.jwk;
    return importJWK({ ...rest, ext: true } as never, alg);
  }
  return null;
}
