/**
 * Compile step of `rateLimit`: limits resolved (inline or named), defaults filled in, everything
 * checked with its config path. The output is plain JSON.
 */
import type * as v from 'valibot';
import type { CounterAlgorithm } from '../../capabilities.ts';
import type { SecretRef } from '../../pipeline/policy.ts';
import type { ConfigIssue } from '../../errors.ts';
import type { CompileContext } from '../../pipeline/policy.ts';
import {
  durationMs,
  MAX_WINDOW_MS,
  type keySchema,
  type limitSchema,
  type rateLimitSchema,
  type storesBlockSchema,
} from './schema.ts';

export type KeyPart =
  | 'ip'
  | 'consumer'
  | 'subject'
  | 'identity'
  | 'route'
  | { header: string }
  | { claim: string }
  | { metadata: string };

export type LimitMode = 'local' | 'approximate' | 'strict';

export interface CompiledLimit {
  /** Name in the headers. */
  id: string;
  /** Namespace of the counters: `route/<route>/<id>` for a route's own limits, `limits/<block>/<id>` for named ones. */
  scope: string;
  requests: number;
  windowMs: number;
  algorithm: CounterAlgorithm;
  /** Bucket size (token bucket) or `requests` (sliding window). */
  capacity: number;
  mode: LimitMode;
  key: KeyPart[];
  onStoreError: 'open' | 'closed';
  localShare: number;
  syncMs: number;
}

export interface CompiledStores {
  timeoutMs: number;
  failures: number;
  cooldownMs: number;
  localKeys: number;
  redis: { url: SecretRef; keyPrefix: string } | null;
}

export interface CompiledRateLimit {
  route: string;
  /** Shortest window first: a request refused by a short limit is not counted by the longer ones. */
  limits: CompiledLimit[];
  /** Plan name → its limits, when `plans` is on. */
  plans: Record<string, CompiledLimit[]> | null;
  planField: string;
  cost: number;
  headers: 'all' | 'refused' | 'none';
  stores: CompiledStores;
}

type LimitInput = v.InferOutput<typeof limitSchema>;
type KeyInput = v.InferOutput<typeof keySchema>;

export const STORE_DEFAULTS = { timeoutMs: 100, failures: 3, cooldownMs: 1000, localKeys: 65_536 } as const;

function compileStores(config: Record<string, unknown>): CompiledStores {
  const block = (config['stores'] ?? {}) as v.InferOutput<typeof storesBlockSchema>;
  const c = block.counters ?? {};
  return {
    timeoutMs: c.timeoutMs ?? STORE_DEFAULTS.timeoutMs,
    failures: c.failures ?? STORE_DEFAULTS.failures,
    cooldownMs: c.cooldownMs ?? STORE_DEFAULTS.cooldownMs,
    localKeys: c.localKeys ?? STORE_DEFAULTS.localKeys,
    redis: block.redis ? { url: block.redis.url, keyPrefix: block.redis.keyPrefix ?? 'portico:' } : null,
  };
}

const keyList = (key: KeyInput | undefined, fallback: KeyPart[]): KeyPart[] =>
  key === undefined ? fallback : Array.isArray(key) ? (key as KeyPart[]) : [key as KeyPart];

function compileLimits(
  list: readonly LimitInput[],
  at: string,
  scope: string,
  key: KeyPart[],
  cost: number,
  issues: ConfigIssue[],
): CompiledLimit[] {
  const out: CompiledLimit[] = [];
  const names = new Map<string, number>();
  list.forEach((l, i) => {
    const where = `${at}[${i}]`;
    const windowMs = durationMs(l.per);
    if (!(windowMs <= MAX_WINDOW_MS)) {
      issues.push({ path: `${where}.per`, message: `expected a window of at most 31 days, got "${l.per}"` });
      return;
    }
    const mode = l.mode ?? 'local';
    let algorithm: CounterAlgorithm = l.algorithm ?? (mode === 'approximate' ? 'slidingWindow' : 'tokenBucket');
    if (mode === 'approximate' && algorithm !== 'slidingWindow') {
      issues.push({
        path: `${where}.algorithm`,
        message:
          'approximate mode syncs window counts, so it uses "slidingWindow" (remove algorithm or set it to "slidingWindow")',
      });
      algorithm = 'slidingWindow';
    }
    if (l.burst !== undefined && algorithm !== 'tokenBucket') {
      issues.push({ path: `${where}.burst`, message: 'burst applies to the token bucket only' });
    }
    if (l.syncMs !== undefined && mode !== 'approximate') {
      issues.push({ path: `${where}.syncMs`, message: 'syncMs applies to approximate mode only' });
    }
    const capacity = algorithm === 'tokenBucket' ? (l.burst ?? l.requests) : l.requests;
    if (cost > capacity) {
      issues.push({
        path: `${where}`,
        message: `a request costs ${cost}, more than this limit ever allows (${capacity}): every request would be refused`,
      });
    }
    const id = l.name ?? `${l.requests}-per-${l.per}`;
    const earlier = names.get(id);
    if (earlier !== undefined) {
      issues.push({
        path: `${where}${l.name ? '.name' : ''}`,
        message: `duplicate limit name "${id}" (also ${at}[${earlier}]); give each limit its own name`,
      });
    }
    names.set(id, i);
    out.push({
      id,
      scope: `${scope}/${id}`,
      requests: l.requests,
      windowMs,
      algorithm,
      capacity,
      mode,
      key: keyList(l.key, key),
      onStoreError: l.onStoreError ?? 'open',
      localShare: l.localShare ?? 1,
      syncMs: l.syncMs ?? 100,
    });
  });
  return out.sort((a, b) => a.windowMs - b.windowMs);
}

/** Checks the top-level `limits` block on its own, once per config. */
export function compileLimitsBlock(config: Record<string, unknown>, issues: ConfigIssue[]): void {
  const block = (config['limits'] ?? {}) as Record<string, LimitInput[]>;
  for (const [name, list] of Object.entries(block)) compileLimits(list, `limits.${name}`, `limits/${name}`, ['ip'], 1, issues);
}

export function compileRateLimit(
  block: v.InferOutput<typeof rateLimitSchema>,
  ctx: CompileContext,
): CompiledRateLimit | undefined {
  const { at, issues, config } = ctx;
  // `defaults.rateLimit` is one set of counters for the whole gateway (per key): add "route" to
  // its key to count each route apart.
  const index = /^routes\[(\d+)\]/.exec(at)?.[1];
  const routes = (config['routes'] ?? []) as { id?: string }[];
  const routeId = index === undefined ? 'defaults' : (routes[Number(index)]?.id ?? `route-${index}`);
  const named = (config['limits'] ?? {}) as Record<string, LimitInput[]>;
  const key = keyList(block.key, ['ip']);
  const cost = block.cost ?? 1;
  const before = issues.length;
  let limits: CompiledLimit[];
  if (typeof block.limits === 'string') {
    const list = named[block.limits];
    if (!list) {
      const known = Object.keys(named);
      issues.push({
        path: `${at}.limits`,
        message: `unknown limits block "${block.limits}" (defined: ${known.length ? known.join(', ') : 'none'})`,
      });
      return undefined;
    }
    limits = compileLimits(list, `limits.${block.limits}`, `limits/${block.limits}`, key, cost, issues);
  } else {
    limits = compileLimits(
      block.limits,
      `${at}.limits`,
      index === undefined ? 'defaults' : `route/${routeId}`,
      key,
      cost,
      issues,
    );
  }
  let plans: Record<string, CompiledLimit[]> | null = null;
  if (block.plans) {
    if (Object.keys(named).length === 0) {
      issues.push({
        path: `${at}.plans`,
        message: 'plans name top-level limits blocks, and there is none (add a top-level "limits")',
      });
    } else {
      plans = {};
      for (const [name, list] of Object.entries(named)) {
        plans[name] = compileLimits(list, `limits.${name}`, `limits/${name}`, key, cost, issues);
      }
    }
  } else if (block.planField !== undefined) {
    issues.push({ path: `${at}.planField`, message: 'planField applies only with plans: true' });
  }
  if (issues.length > before) return undefined;
  return {
    route: routeId,
    limits,
    plans,
    planField: block.planField ?? 'plan',
    cost,
    headers: block.headers ?? 'all',
    stores: compileStores(config),
  };
}

/** Every limit of a compiled block: the route's and its plans'. */
export function allLimits(c: CompiledRateLimit): CompiledLimit[] {
  return [...c.limits, ...Object.values(c.plans ?? {}).flat()];
}
