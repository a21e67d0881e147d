/**
 * Tokens already verified, per isolate: a token is not verified again before its `exp`. Keyed by
 * the SHA-256 of the token (the cache holds no token), bounded, least recently used first out.
 */
import { Lru } from '../../stores/lru.ts';
import { sha256Ascii } from './sha256.ts';

export interface VerifiedEntry {
  /** Name of the issuer that verified it. */
  issuer: string;
  claims: Record<string, unknown>;
  /** `exp` in milliseconds. */
  expiresAt: number;
}

export interface VerifiedCache {
  get(key: string, now: number): VerifiedEntry | undefined;
  set(key: string, entry: VerifiedEntry): void;
  readonly size: number;
}

/** Default number of verified tokens kept per isolate. */
export const DEFAULT_VERIFIED_CACHE_SIZE = 10_000;

export function createVerifiedCache(maxEntries = DEFAULT_VERIFIED_CACHE_SIZE): VerifiedCache {
  const entries = new Lru<string, VerifiedEntry>(maxEntries);
  return {
    get size() {
      return entries.size;
    },
    get(key, now) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= now) {
        entries.delete(key);
        return undefined;
      }
      return entry;
    },
    set(key, entry) {
      entries.set(key, entry);
    },
  };
}

/** The cache key of a token: its SHA-256, hex (the token is ASCII: its grammar was checked). */
export function tokenKey(token: string): string {
  return sha256Ascii(token);
}
