/**
 * `rateLimit`: limits per client, consumer, claim, header or route, in phase `ratelimit` (after
 * auth, so identity keys work). Each limit declares its mode (`local`, `approximate`, `strict`),
 * and with it how far it can be off (README, "Rate limits"). A refused request gets a 429
 * problem+json with Retry-After and never reaches the origin.
 *
 * @example
 * { "rateLimit": { "key": ["consumer"], "limits": [{ "requests": 10, "per": "1s" }, { "requests": 1000, "per": "1h", "mode": "strict" }] } }
 */
import type { CounterDecision } from '../../capabilities.ts';
import { PorticoError } from '../../errors.ts';
import { createBucketTable } from '../../hot/index.ts';
import type { Exchange, Next, PolicyRuntime } from '../../pipeline/policy.ts';
import { definePolicy } from '../../pipeline/policy.ts';
import { guardCounterStore, type GuardedCounterStore } from '../../stores/guarded-counters.ts';
import {
  allLimits,
  compileLimitsBlock,
  compileRateLimit,
  type CompiledLimit,
  type CompiledRateLimit,
  type KeyPart,
} from './compile.ts';
import { policyField, rateLimitField } from './headers.ts';
import {
  createApproximateLimiter,
  createLocalLimiter,
  createStrictLimiter,
  LocalBucket,
  LocalWindows,
  type Limiter,
  type LimitOutcome,
  type LocalTables,
} from './limiters.ts';
import { limitsBlockSchema, rateLimitSchema, storesBlockSchema } from './schema.ts';

export type { CompiledLimit, CompiledRateLimit, KeyPart } from './compile.ts';

export interface RateLimitShared {
  tables(): LocalTables;
  counters(): GuardedCounterStore | null;
}

/** The value of one key part for this request; absent parts count under one shared "-" value. */
function partValue(part: KeyPart, ex: Exchange): string {
  switch (part) {
    case 'ip':
      return ex.clientAddress || '-';
    case 'consumer':
      return ex.identity?.consumer ?? '-';
    case 'subject':
      return ex.identity?.subject ?? '-';
    case 'identity':
      return ex.identity?.consumer ?? ex.identity?.subject ?? '-';
    case 'route':
      return ex.route.id;
    default: {
      let value: unknown;
      if ('header' in part) value = ex.request.headers.get(part.header);
      else if ('claim' in part) value = ex.identity?.claims[part.claim];
      else value = ex.identity?.metadata[part.metadata];
      if (value === null || value === undefined) return '-';
      return typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
}

function keyOf(parts: readonly KeyPart[], ex: Exchange): string {
  if (parts.length === 1) return partValue(parts[0]!, ex);
  let key = partValue(parts[0]!, ex);
  for (let i = 1; i < parts.length; i++) key += `\n${partValue(parts[i]!, ex)}`;
  return key;
}

interface LimitSet {
  limits: CompiledLimit[];
  limiters: Limiter[];
  policyHeader: string;
}

function buildSet(limits: CompiledLimit[], runtime: PolicyRuntime, shared: RateLimitShared, route: string): LimitSet {
  const limiters = limits.map((limit): Limiter => {
    const local = createLocalLimiter(limit, shared.tables(), limit.scope, 1);
    if (limit.mode === 'local') return local;
    const store = shared.counters();
    if (!store) {
      throw new PorticoError(
        'ERR_TARGET_UNSUPPORTED',
        `route "${route}", rateLimit limit "${limit.id}": mode ${limit.mode} needs a counter store shared by every instance, and this target gave none (Node: set stores.redis in the config; Deno: Deno KV; Cloudflare: the PORTICO_COUNTERS Durable Object binding)`,
      );
    }
    const fallback = createLocalLimiter(limit, shared.tables(), `${limit.scope}\nfallback`, limit.localShare);
    return limit.mode === 'strict'
      ? createStrictLimiter(limit, store, fallback)
      : createApproximateLimiter(
          limit,
          store,
          fallback,
          runtime.config.routes.length > 0 ? tablesKeys(runtime) : 1024,
          runtime.log,
          runtime.now,
        );
  });
  return { limits, limiters, policyHeader: policyField(limits) };
}

function tablesKeys(runtime: PolicyRuntime): number {
  return firstCompiled(runtime)?.stores.localKeys ?? 65_536;
}

function firstCompiled(runtime: PolicyRuntime): CompiledRateLimit | undefined {
  for (const route of runtime.config.routes) {
    for (const p of route.policies) if (p.name === 'rateLimit') return p.config as CompiledRateLimit;
  }
  return undefined;
}

export const rateLimitPolicy = definePolicy({
  name: 'rateLimit',
  phase: 'ratelimit',
  bodies: 'none',
  schema: rateLimitSchema,
  blocks: { limits: limitsBlockSchema, stores: storesBlockSchema },
  defaultable: true,
  compile: compileRateLimit,
  compileBlocks: compileLimitsBlock,
  needs(c) {
    const modes = new Set(allLimits(c).map((l) => l.mode));
    if (modes.has('approximate')) return ['counters', 'waitUntil'];
    return modes.has('strict') ? ['counters'] : [];
  },
  describe(c) {
    const text = c.limits.map(
      (l) => `${l.id} ${l.mode} by ${l.key.map((k) => (typeof k === 'string' ? k : Object.entries(k)[0]!.join(':'))).join('+')}`,
    );
    return `${text.join(', ')}${c.plans ? `; plans from metadata.${c.planField}` : ''}`;
  },
  init(runtime): RateLimitShared {
    const compiled = firstCompiled(runtime);
    let tables: LocalTables | undefined;
    let counters: GuardedCounterStore | null | undefined;
    return {
      // Made on first use: a gateway without limits reserves no bucket table.
      tables() {
        if (!tables) {
          const keys = compiled?.stores.localKeys ?? 65_536;
          tables = {
            bucket: new LocalBucket(runtime.hot, createBucketTable(runtime.hot, { capacity: keys })),
            windows: new LocalWindows(keys),
          };
        }
        return tables;
      },
      counters() {
        if (counters === undefined) {
          const store = runtime.stores.counters;
          counters = store
            ? guardCounterStore(store, {
                timeoutMs: compiled?.stores.timeoutMs,
                failures: compiled?.stores.failures,
                cooldownMs: compiled?.stores.cooldownMs,
                now: runtime.now,
                log: runtime.log,
              })
            : null;
        }
        return counters;
      },
    };
  },
  create(c, runtime, shared) {
    const base = buildSet(c.limits, runtime, shared, c.route);
    const plans = new Map<string, LimitSet>();
    for (const [name, limits] of Object.entries(c.plans ?? {})) plans.set(name, buildSet(limits, runtime, shared, c.route));
    const cost = c.cost;
    const onAllowed = c.headers === 'all';
    const onRefused = c.headers !== 'none';

    /** Finishes a request once every decision is in: refuse, or forward and add the headers. */
    const finish = (
      ex: Exchange,
      next: Next,
      set: LimitSet,
      decisions: CounterDecision[],
      outcome: LimitOutcome | null,
    ): Promise<Response> => {
      if (outcome === 'unavailable') {
        ex.logFields['rateLimit'] = 'store-unavailable';
        return Promise.resolve(
          ex.refuse(
            'ERR_RATE_LIMIT_UNAVAILABLE',
            'The rate-limit store cannot be reached, and this limit refuses requests it cannot count.',
            { 'retry-after': '1' },
          ),
        );
      }
      if (outcome !== null && !outcome.allowed) {
        const retryMs = outcome.retryAfterMs >= 0 ? outcome.retryAfterMs : outcome.resetMs;
        const retryAfter = String(Math.max(1, Math.ceil(retryMs / 1000)));
        const limit = set.limits[decisions.length - 1]!;
        ex.logFields['rateLimit'] = limit.id;
        const headers: Record<string, string> = { 'retry-after': retryAfter };
        if (onRefused) {
          headers['ratelimit-policy'] = set.policyHeader;
          headers['ratelimit'] = rateLimitField(set.limits, decisions);
        }
        return Promise.resolve(
          ex.refuse(
            'ERR_RATE_LIMITED',
            `Limit "${limit.id}" (${limit.requests} per ${limit.windowMs / 1000} s) is used up; retry in ${retryAfter} s.`,
            headers,
            { limit: limit.id },
          ),
        );
      }
      if (!onAllowed) return next();
      return next().then((response) => {
        response.headers.set('ratelimit-policy', set.policyHeader);
        response.headers.set('ratelimit', rateLimitField(set.limits, decisions));
        return response;
      });
    };

    /** The limits from `from` on, once one of them had to ask the store. */
    const rest = async (
      ex: Exchange,
      next: Next,
      set: LimitSet,
      decisions: CounterDecision[],
      from: number,
      pending: Promise<LimitOutcome>,
      now: number,
    ): Promise<Response> => {
      let outcome: LimitOutcome | null = await pending;
      for (let i = from; ; ) {
        if (outcome === 'unavailable') return finish(ex, next, set, decisions, outcome);
        decisions.push(outcome);
        if (!outcome.allowed || ++i >= set.limiters.length) return finish(ex, next, set, decisions, outcome);
        const limiter = set.limiters[i]!;
        const r = limiter.consume(keyOf(limiter.limit.key, ex), cost, now, ex.context);
        outcome = r instanceof Promise ? await r : r;
      }
    };

    // Not an async function: a request whose limits are all local is decided without a promise
    // of its own, and the only await is the origin's.
    return (ex, next) => {
      let set = base;
      if (plans.size > 0) {
        const plan = ex.identity?.metadata[c.planField];
        if (typeof plan === 'string') set = plans.get(plan) ?? base;
      }
      const now = runtime.now();
      const decisions: CounterDecision[] = [];
      let outcome: LimitOutcome | null = null;
      for (let i = 0; i < set.limiters.length; i++) {
        const limiter = set.limiters[i]!;
        const r = limiter.consume(keyOf(limiter.limit.key, ex), cost, now, ex.context);
        if (r instanceof Promise) return rest(ex, next, set, decisions, i, r, now);
        outcome = r;
        if (outcome === 'unavailable') break;
        decisions.push(outcome);
        if (!outcome.allowed) break;
      }
      return finish(ex, next, set, decisions, outcome);
    };
  },
});
