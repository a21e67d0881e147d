/**
 * The `rateLimit` route block, the top-level `limits` block (named sets of limits: plans), and
 * the top-level `stores` block (where shared counters live and how they are guarded).
 */
import * as v from 'valibot';
import { blockName, headerName, positiveMs, secretRef } from '../../config/primitives.ts';

/** `10s`, `1m`, `500ms`, `1h`, `1d`. */
export const DURATION = /^([1-9][0-9]*)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Longest window: 31 days. */
export const MAX_WINDOW_MS = 31 * 86_400_000;

/** Milliseconds of a duration that matched DURATION. */
export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * (UNIT_MS[m[2]!] ?? 0) : Number.NaN;
}

const keyPart = v.union(
  [
    v.picklist(
      ['ip', 'consumer', 'subject', 'identity', 'route'],
      'expected "ip", "consumer", "subject", "identity", "route", { header }, { claim } or { metadata }',
    ),
    v.strictObject({ header: headerName }, 'expected { header: "name" }'),
    v.strictObject({ claim: v.pipe(v.string(), v.minLength(1, 'expected a claim name')) }, 'expected { claim: "name" }'),
    v.strictObject(
      { metadata: v.pipe(v.string(), v.minLength(1, 'expected a metadata field name')) },
      'expected { metadata: "name" }',
    ),
  ],
  'expected "ip", "consumer", "subject", "identity", "route", { header }, { claim } or { metadata }',
);

/** What a counter is kept per: one part, or several (a composite key). */
export const keySchema = v.union(
  [keyPart, v.pipe(v.array(keyPart, 'expected an array of key parts'), v.minLength(1, 'expected at least one key part'))],
  'expected a key part ("ip", "consumer", ...) or an array of them',
);

export const limitSchema = v.strictObject(
  {
    /** Name in the RateLimit headers and logs; default `<requests>-per-<per>`, e.g. `10-per-1s`. */
    name: v.optional(blockName('a limit')),
    /** Requests (cost units) per window. */
    requests: v.pipe(
      v.number('expected requests as a positive whole number'),
      v.integer('expected requests as a whole number'),
      v.minValue(1, 'expected at least 1 request'),
      v.maxValue(1e9, 'expected at most 1e9 requests'),
    ),
    /** The window: `500ms`, `1s`, `10s`, `1m`, `1h`, `1d` (at most 31 days). */
    per: v.pipe(
      v.string('expected a window such as "1s", "1m", "1h"'),
      v.regex(DURATION, 'expected a window such as "1s", "1m", "1h"'),
    ),
    /** `tokenBucket` (default; `slidingWindow` in approximate mode, the only one it supports). */
    algorithm: v.optional(v.picklist(['tokenBucket', 'slidingWindow'], 'expected "tokenBucket" or "slidingWindow"')),
    /** Token bucket only: bucket size, default `requests`. */
    burst: v.optional(
      v.pipe(v.number(), v.integer('expected burst as a whole number'), v.minValue(1, 'expected burst of at least 1')),
    ),
    /** `local` (default), `approximate` or `strict`: see the README for each mode's bound. */
    mode: v.optional(v.picklist(['local', 'approximate', 'strict'], 'expected "local", "approximate" or "strict"')),
    /** What the key is; default the block's `key`. */
    key: v.optional(keySchema),
    /** When the shared store fails: `open` (default) counts locally at `localShare`, `closed` refuses with 503. */
    onStoreError: v.optional(v.picklist(['open', 'closed'], 'expected "open" or "closed"')),
    /** Share of the limit each instance enforces on its own while the store is down, in (0, 1], default 1. */
    localShare: v.optional(
      v.pipe(v.number(), v.gtValue(0, 'expected a share above 0'), v.maxValue(1, 'expected a share of at most 1')),
    ),
    /** Approximate mode: how often counts are sent to the store, in milliseconds, default 100. */
    syncMs: v.optional(positiveMs('syncMs')),
  },
  'expected a limit { requests, per, name?, algorithm?, burst?, mode?, key?, onStoreError?, localShare?, syncMs? }',
);

const limitList = v.pipe(v.array(limitSchema, 'expected an array of limits'), v.minLength(1, 'expected at least one limit'));

export const rateLimitSchema = v.strictObject(
  {
    /** The limits of the route: an array, or the name of a top-level `limits` entry. */
    limits: v.union(
      [limitList, blockName('a limits block')],
      'expected an array of limits or the name of a top-level limits block',
    ),
    /** What counters are kept per, default "ip". */
    key: v.optional(keySchema),
    /** Units one request takes, default 1. */
    cost: v.optional(
      v.pipe(v.number(), v.integer('expected cost as a whole number'), v.minValue(1, 'expected cost of at least 1')),
    ),
    /**
     * Per-consumer plans: when true, the API key's `metadata.plan` (or the field named by
     * `planField`) names a top-level `limits` entry used instead of `limits`.
     */
    plans: v.optional(v.boolean('expected true or false')),
    /** Metadata field that holds the plan name, default `plan`. */
    planField: v.optional(v.pipe(v.string(), v.minLength(1, 'expected a field name'))),
    /** RateLimit-Policy and RateLimit headers on `all` responses (default), only `refused` ones, or `none`. */
    headers: v.optional(v.picklist(['all', 'refused', 'none'], 'expected "all", "refused" or "none"')),
  },
  'expected a rateLimit block { limits, key?, cost?, plans?, planField?, headers? }',
);

export const limitsBlockSchema = v.record(blockName('a limits block'), limitList, 'expected an object of name → array of limits');

export const storesBlockSchema = v.strictObject(
  {
    counters: v.optional(
      v.strictObject(
        {
          /** Longest wait for one counter-store call, in milliseconds, default 100. */
          timeoutMs: v.optional(positiveMs('timeoutMs')),
          /** Consecutive failures that open the store's breaker, default 3. */
          failures: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1, 'expected at least 1 failure'))),
          /** How long the breaker stays open before a probe, in milliseconds, default 1000. */
          cooldownMs: v.optional(positiveMs('cooldownMs')),
          /** Keys the local (per-instance) table holds, default 65536 (rounded up to a power of two). */
          localKeys: v.optional(
            v.pipe(
              v.number(),
              v.integer(),
              v.minValue(8, 'expected at least 8 keys'),
              v.maxValue(1 << 24, 'expected at most 16777216 keys'),
            ),
          ),
        },
        'expected { timeoutMs?, failures?, cooldownMs?, localKeys? }',
      ),
    ),
    /** Node's shared counters: a Redis server. */
    redis: v.optional(
      v.strictObject(
        {
          /** `redis://[user:password@]host:port[/db]`, read from the environment (it may hold a password). */
          url: secretRef,
          /** Prefix of every key portico writes, default `portico:`. */
          keyPrefix: v.optional(v.pipe(v.string(), v.maxLength(64, 'expected a prefix of at most 64 characters'))),
        },
        'expected { url: { env }, keyPrefix? }',
      ),
    ),
  },
  'expected a stores block { counters?, redis? }',
);
