/**
 * What each target can give the policies (pipeline/policy.ts, `Need`), and the check that
 * `portico build` runs before bundling: a route that needs what the target cannot give fails the
 * build with the route, the policy and the missing capability named. Nothing silently degrades to
 * a per-instance memory store.
 */
import type { CompiledConfig } from '../../core/config/compile.ts';
import { PorticoError } from '../../core/errors.ts';
import { policyDefinition } from '../../core/pipeline/compose.ts';
import type { Need } from '../../core/pipeline/policy.ts';
import type { TargetName } from './types.ts';

/** JWS algorithms verified with WebCrypto where the engine has all of it. */
const WEBCRYPTO_ALGS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
];

/**
 * Capabilities per target. `kv`/`counters`/`cache` mean a store shared beyond one instance.
 * - node: Redis-backed stores come with the rate-limit and cache work; memory KV is the
 *   single-process store, which is what a Node gateway is (DESIGN.md, "Where users outgrow one
 *   machine"), so `kv` counts as given.
 * - counters (rate limits in approximate or strict mode): node (Redis, `stores.redis`), deno
 *   (Deno KV), cloudflare (the PORTICO_COUNTERS Durable Object). Fastly's edge rate limiter
 *   counts per POP and cannot do an atomic consume, and Vercel and WASI have no shared store:
 *   their limits are `local` only.
 * - wasi: StarlingMonkey's WebCrypto (componentize-js 0.19.3, pinned) verifies HMAC, RSA
 *   PKCS#1 v1.5 and ECDSA P-256/P-384; RSA-PSS and Ed25519 are not there.
 */
export const TARGET_PROVIDES: Record<TargetName, ReadonlySet<Need>> = {
  node: new Set<Need>(['secrets', 'kv', 'counters', 'waitUntil', 'files', ...WEBCRYPTO_ALGS.map((a) => `alg:${a}` as const)]),
  deno: new Set<Need>([
    'secrets',
    'kv',
    'counters',
    'cache',
    'waitUntil',
    'files',
    ...WEBCRYPTO_ALGS.map((a) => `alg:${a}` as const),
  ]),
  cloudflare: new Set<Need>([
    'secrets',
    'kv',
    'counters',
    'cache',
    'waitUntil',
    'geo',
    ...WEBCRYPTO_ALGS.map((a) => `alg:${a}` as const),
  ]),
  vercel: new Set<Need>(['secrets', 'waitUntil', 'geo', ...WEBCRYPTO_ALGS.map((a) => `alg:${a}` as const)]),
  fastly: new Set<Need>(['secrets', 'kv', 'waitUntil', 'geo', ...WEBCRYPTO_ALGS.map((a) => `alg:${a}` as const)]),
  wasi: new Set<Need>(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384'].map((a) => `alg:${a}` as const)),
};

export interface UnmetNeed {
  /** The route's id; '' for a gateway-wide block (then `policy` names the block). */
  route: string;
  policy: string;
  need: Need;
}

/** Whether a compiled block holds a secret reference `{ "env": NAME }` anywhere. */
function holdsSecret(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsSecret);
  if (value === null || typeof value !== 'object') return false;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'env' && typeof (value as { env: unknown }).env === 'string') return true;
  return Object.values(value).some(holdsSecret);
}

/** What one route's policy needs: what it declares, and `secrets` when its block holds one. */
function policyNeeds(p: CompiledConfig['routes'][number]['policies'][number], compiled: CompiledConfig): Set<Need> {
  const needs = new Set<Need>(policyDefinition(p.name)?.needs?.(p.config as never, compiled) ?? []);
  if (holdsSecret(p.config)) needs.add('secrets');
  return needs;
}

/**
 * What the config's gateway-wide blocks need: `observability` (secrets in its OTLP headers or
 * metrics token; `waitUntil` for the OTLP push, which runs after each response) and `admin` (its
 * token is a secret).
 */
function blockNeeds(compiled: CompiledConfig): Array<{ block: string; need: Need }> {
  const out: Array<{ block: string; need: Need }> = [];
  const o = compiled.observability;
  if (o) {
    if (holdsSecret(o)) out.push({ block: 'observability', need: 'secrets' });
    if (o.otlp) out.push({ block: 'observability.otlp', need: 'waitUntil' });
  }
  if (compiled.admin && !o?.metrics) out.push({ block: 'admin', need: 'secrets' });
  // The edge platforms have their own geo and no file system to open a database from: a config
  // that names one is refused there rather than silently routed by defaultRegion.
  if (compiled.geo?.mmdb) out.push({ block: 'geo.mmdb', need: 'files' });
  return out;
}

/** Everything the config's routes and gateway-wide blocks need, whatever the target. */
export function configNeeds(compiled: CompiledConfig): Set<Need> {
  const all = new Set<Need>();
  for (const route of compiled.routes) for (const p of route.policies) for (const n of policyNeeds(p, compiled)) all.add(n);
  for (const { need } of blockNeeds(compiled)) all.add(need);
  return all;
}

/** Every need of every route's policies that `target` cannot meet. */
export function unmetNeeds(compiled: CompiledConfig, target: TargetName): UnmetNeed[] {
  const provides = TARGET_PROVIDES[target];
  const unmet: UnmetNeed[] = [];
  for (const route of compiled.routes) {
    for (const p of route.policies) {
      for (const need of policyNeeds(p, compiled)) if (!provides.has(need)) unmet.push({ route: route.id, policy: p.name, need });
    }
  }
  for (const { block, need } of blockNeeds(compiled)) if (!provides.has(need)) unmet.push({ route: '', policy: block, need });
  return unmet;
}

const NEED_TEXT: Record<string, string> = {
  kv: 'a shared KV store',
  counters: 'an atomic counter store shared across instances',
  cache: 'a response cache',
  waitUntil: 'work after the response (waitUntil)',
  geo: "the platform's geo data",
  files: "a database file read at start (the edge targets use the platform's geo: build them from a config without geo.mmdb)",
  secrets: 'secrets from the environment ({ "env": NAME }; the wasi:http/proxy world has no environment interface)',
};

/** Throws `ERR_TARGET_UNSUPPORTED` listing every unmet need; returns when there is none. */
export function assertNeedsMet(compiled: CompiledConfig, target: TargetName): void {
  const unmet = unmetNeeds(compiled, target);
  if (unmet.length === 0) return;
  const lines = unmet.map(
    (u) =>
      `  ${u.route === '' ? u.policy : `route "${u.route}", policy ${u.policy}`}: needs ${u.need.startsWith('alg:') ? `the ${u.need.slice(4)} algorithm` : (NEED_TEXT[u.need] ?? u.need)}, which ${target} cannot give`,
  );
  throw new PorticoError(
    'ERR_TARGET_UNSUPPORTED',
    `the config cannot run on ${target} (${unmet.length} unmet need${unmet.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
  );
}
