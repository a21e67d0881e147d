/**
 * A consumer as the API-key policy holds it: where it comes from (the `apiKeys` block or a KV
 * record), what it becomes (`exchange.identity`), and the schema both share.
 */
import * as v from 'valibot';
import { NAME } from '../../config/primitives.ts';
import type { Identity } from '../../pipeline/policy.ts';

/** A JSON value (what a compiled config and a KV record can carry). */
export function isJsonValue(value: unknown, depth = 0): boolean {
  if (depth > 16) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((x) => isJsonValue(x, depth + 1));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(value).every((x) => isJsonValue(x, depth + 1));
  }
  return false;
}

const jsonObject = (what: string) =>
  v.pipe(
    v.record(v.string(), v.unknown(), `expected ${what} as an object`),
    v.check((o) => isJsonValue(o), `expected ${what} made of JSON values (strings, numbers, booleans, null, arrays, objects)`),
  );

const scopeToken = v.pipe(
  v.string('expected a scope (string)'),
  v.regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope token (RFC 6749 §3.3: visible ASCII, no space, " or \\)'),
);

/** What a consumer carries besides its key hashes: the same in the `apiKeys` block and in KV. */
export const consumerFields = {
  /** Plan name, read by the rate-limit policy from `identity.metadata.plan`. */
  plan: v.optional(
    v.pipe(v.string('expected a plan name (string)'), v.regex(NAME, 'expected a plan name of letters, digits, _ . -')),
  ),
  /** Scopes granted to this consumer (forwarded by the identity policy, like a token's scopes). */
  scopes: v.optional(v.array(scopeToken, 'expected an array of scopes')),
  /** Anything the origin or later policies should know; becomes `identity.metadata`. */
  metadata: v.optional(jsonObject('metadata')),
  /** Limits for the rate-limit policy, as it defines them; `identity.metadata.limits`. */
  limits: v.optional(jsonObject('limits')),
};

/** A record under `apikey:<hex sha-256 of the key>` in the KV store. */
export const KvConsumerSchema = v.object({
  consumer: v.pipe(v.string('expected a consumer name'), v.regex(NAME, 'expected a consumer name of letters, digits, _ . -')),
  /** true: the key is refused (kept so that a revoked key is told apart in the log). */
  disabled: v.optional(v.boolean()),
  ...consumerFields,
});

export interface ConsumerRecord {
  consumer: string;
  plan?: string | undefined;
  scopes?: string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
  limits?: Record<string, unknown> | undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * The identity a consumer's key establishes. Built once per consumer and frozen, so that every
 * request with that key shares it and no policy can change it for the others. `plan` and
 * `limits` sit in `metadata` under those names, where the rate-limit policy reads them.
 */
export function consumerIdentity(record: ConsumerRecord): Identity {
  const metadata: Record<string, unknown> = { ...structuredClone(record.metadata ?? {}) };
  if (record.plan !== undefined) metadata['plan'] = record.plan;
  if (record.limits !== undefined) metadata['limits'] = structuredClone(record.limits);
  return deepFreeze({
    kind: 'apiKey',
    consumer: record.consumer,
    scopes: [...(record.scopes ?? [])],
    claims: {},
    metadata,
  });
}
