/**
 * A bounded memory of the nonces of assertions already accepted, for origins that refuse a
 * replay even inside the time window. Entries leave when their assertion would be too old anyway;
 * when the cache is full, the oldest goes first (so size it above the requests an origin takes in
 * one window: a nonce pushed out early could be replayed until its window closes).
 */
import { Lru } from '../stores/lru.ts';

export interface NonceCache {
  /**
   * Records `nonce` until `expiresAtMs`; false when it was already recorded (a replay).
   * @param nowMs current time in milliseconds since the epoch
   */
  remember(nonce: string, expiresAtMs: number, nowMs: number): boolean;
  /** How many nonces are held. */
  readonly size: number;
}

export interface NonceCacheOptions {
  /** Most nonces held, default 100000 (about 10 MB at most). */
  maxEntries?: number;
}

/** @example const nonces = createNonceCache({ maxEntries: 50_000 }); */
export function createNonceCache(options: NonceCacheOptions = {}): NonceCache {
  const maxEntries = options.maxEntries ?? 100_000;
  // Insertion order, not use: a nonce is written once (a replay is refused, not re-inserted).
  const expiries = new Lru<string, number>(maxEntries);
  return {
    remember(nonce, expiresAtMs, nowMs) {
      // Insertion order is close to expiry order (same window for every entry): sweep from the front.
      for (const [n, at] of expiries.entries()) {
        if (at > nowMs) break;
        expiries.delete(n);
      }
      const known = expiries.peek(nonce);
      if (known !== undefined && known > nowMs) return false;
      expiries.set(nonce, expiresAtMs);
      return true;
    },
    get size() {
      return expiries.size;
    },
  };
}
