/**
 * Keys kept in the KV store: `apikey:<hex sha-256 of the key>` → a JSON consumer record
 * (`KvConsumerSchema`). The store is looked up by the key's hash, never by the key, so the store
 * holds no key either.
 *
 * Answers are cached per instance for the route's `cacheSeconds` (found and not found alike), so
 * a busy key costs one store read per interval, and a client repeating a bad key does not hammer
 * the store. The cache is bounded; concurrent lookups of one hash share one read.
 */
import * as v from 'valibot';
import type { KVStore } from '../../capabilities.ts';
import { Lru } from '../../stores/lru.ts';
import type { Identity } from '../../pipeline/policy.ts';
import { consumerIdentity, KvConsumerSchema } from './_consumer.ts';

/** Prefix of the KV keys that hold API-key records. */
export const KV_KEY_PREFIX = 'apikey:';

/** Most hashes remembered per instance; the oldest goes first. */
const MAX_CACHED = 10_000;

export type KvAnswer =
  | { kind: 'found'; identity: Identity }
  | { kind: 'absent' }
  /** Present but disabled, or not a valid record: refused, with the reason for the log. */
  | { kind: 'refused'; reason: string };

export interface KvKeyLookup {
  /** The answer for a key's hex digest, no older than `maxAgeMs`. Rejects when the store fails. */
  lookup(digestHex: string, maxAgeMs: number): Promise<KvAnswer>;
}

export function createKvKeyLookup(kv: KVStore, now: () => number): KvKeyLookup {
  // Insertion order: an answer is re-inserted when it is read again from the store.
  const cache = new Lru<string, { at: number; answer: KvAnswer }>(MAX_CACHED);
  const inFlight = new Map<string, Promise<KvAnswer>>();

  async function read(digestHex: string): Promise<KvAnswer> {
    const text = await kv.get(KV_KEY_PREFIX + digestHex);
    if (text === null) return { kind: 'absent' };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { kind: 'refused', reason: 'the KV record is not JSON' };
    }
    const parsed = v.safeParse(KvConsumerSchema, json);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const where = issue?.path?.map((p) => String(p.key)).join('.') ?? '';
      return { kind: 'refused', reason: `the KV record is not valid: ${where ? `${where}: ` : ''}${issue?.message ?? ''}` };
    }
    if (parsed.output.disabled) return { kind: 'refused', reason: `the key of consumer "${parsed.output.consumer}" is disabled` };
    return { kind: 'found', identity: consumerIdentity(parsed.output) };
  }

  return {
    async lookup(digestHex, maxAgeMs) {
      const cached = cache.peek(digestHex);
      if (cached && now() - cached.at < maxAgeMs) return cached.answer;
      const pending = inFlight.get(digestHex);
      if (pending) return pending;
      const promise = read(digestHex).then(
        (answer) => {
          inFlight.delete(digestHex);
          cache.delete(digestHex);
          if (maxAgeMs > 0) cache.set(digestHex, { at: now(), answer });
          return answer;
        },
        (err: unknown) => {
          inFlight.delete(digestHex);
          throw err;
        },
      );
      inFlight.set(digestHex, promise);
      return promise;
    },
  };
}
