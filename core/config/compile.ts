/**
 * Validation and compilation of a config into the form the gateway runs: routes resolved,
 * defaults applied, entries sorted into precedence order and the route table compiled into the
 * hot path's binary blob. The result is plain JSON, so `portico build` can embed it.
 */
import * as v from 'valibot';
import { RE2JS } from 're2js';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { normalizePath } from '../http/normalize.ts';
import { parseCidr } from '../http/ip.ts';
import { compileRouteTable } from '../hot/index.ts';
import { METHOD_BITS, type HostSpec, type PathSpec, type TableEntry } from '../hot/types.ts';
import {
  ConfigSchema,
  GeoSchema,
  OriginSchema,
  PoolSchema,
  type RetrySchema,
  RouteSchema,
  type OriginConfig,
  type PorticoConfig,
  type RouteConfig,
} from './schema.ts';
import { didYouMean } from './did-you-mean.ts';
import { POLICIES } from '../policies/index.ts';
import { PHASES, type CompiledPolicy } from '../pipeline/policy.ts';
import { compileObservability, type CompiledObservability } from '../observe/config.ts';
import { DEFAULT_BREAKER, type BreakerSettings } from '../upstream/breaker.ts';
import type { RetryBudgetSettings } from '../upstream/retry-budget.ts';
import { CONTINENT_CODES } from '../upstream/continents.ts';

/** Version of the compiled form; bumped when its shape changes. */
export const COMPILED_CONFIG_VERSION = 1;

/** Paths the gateway answers itself, before any route. */
export const RESERVED_PATHS = ['/health', '/ready'] as const;

/** Default origin timeout, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export type RouteKind = 'exact' | 'params' | 'prefix' | 'regex' | 'fallback';

export interface CompiledOrigin {
  name: string;
  /** Scheme, host and port, e.g. `http://127.0.0.1:9001`. */
  origin: string;
  /** Base path prepended to the forwarded path, without a trailing slash (often ""). */
  basePath: string;
  region: string;
  timeoutMs: number;
  /** The circuit breaker's settings, null when the origin is never ejected (absent: defaults). */
  breaker?: BreakerSettings | null;
  /** Requests in flight to this origin at most, null for no limit. */
  maxConcurrent?: number | null;
  /** Requests that may wait for a slot when maxConcurrent is reached (absent: 0, none). */
  queue?: number;
  /** Longest wait in that queue, in milliseconds (absent: 1000). */
  queueTimeoutMs?: number;
  /** Active health checks, null for none. */
  healthCheck?: CompiledHealthCheck | null;
}

export interface CompiledHealthCheck {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** Statuses that count as healthy. */
  expectedStatuses: number[];
}

/** A route's retries, resolved (see RetrySchema for the meaning and defaults). */
export interface CompiledRetry {
  attempts: number;
  connect: boolean;
  timeout: boolean;
  statuses: number[];
  methods: string[];
  backoffMs: number;
  maxBackoffMs: number;
  perTryTimeoutMs: number | null;
  deadlineMs: number | null;
  maxRetryAfterMs: number;
  budget: RetryBudgetSettings;
  /** Whether a try may go to the origin that just failed (only when the route writes a retry block). */
  sameOrigin: boolean;
}

export interface CompiledShed {
  maxConcurrent: number;
  queue: number;
  queueTimeoutMs: number;
  retryAfterSeconds: number;
}

export interface CompiledPool {
  name: string;
  origins: string[];
  /** Country code (upper case) → region. */
  countries: Record<string, string>;
  /** Continent code (upper case) → region. */
  continents: Record<string, string>;
  defaultRegion: string;
}

export interface CompiledGeo {
  /** Lower-case header names, believed only from trusted proxies. */
  countryHeader: string | null;
  continentHeader: string | null;
  /** An MMDB file the Node and Deno targets read. */
  mmdb: string | null;
}

/**
 * Retries when a route says nothing: connect failures, timeouts and 502/503/504 of GET, HEAD and
 * OPTIONS go on to another origin of the route (never to the same one again).
 */
export const DEFAULT_RETRY: CompiledRetry = {
  attempts: 3,
  connect: true,
  timeout: false,
  statuses: [502, 503, 504],
  methods: ['GET', 'HEAD', 'OPTIONS'],
  backoffMs: 25,
  maxBackoffMs: 250,
  perTryTimeoutMs: null,
  deadlineMs: null,
  maxRetryAfterMs: 1000,
  budget: { ratio: 0.2, minPerSecond: 3, windowMs: 10_000 },
  sameOrigin: false,
};

export interface CompiledHeaderCondition {
  /** Lower-case header name. */
  name: string;
  equals?: string;
  present?: boolean;
}

export interface CompiledRoute {
  index: number;
  id: string;
  kind: RouteKind;
  /** The path pattern or regex as written, for explain and logs. */
  pattern: string;
  /** Names of the params in capture order; the rest of a prefix route is named `*`. */
  paramNames: string[];
  regex?: string;
  methods: string[] | null;
  hosts: string[] | null;
  headers: CompiledHeaderCondition[];
  upstream: string[];
  timeoutMs: number | null;
  /** The pool the route names, if any (its origins are `upstream`). */
  pool?: string | null;
  /** Retries and failover; null: one try only (absent: DEFAULT_RETRY). */
  retry?: CompiledRetry | null;
  /** Whether breakers and health steer the origin order (absent: when there is more than one origin). */
  breakers?: boolean;
  /** Load shedding on the route, null for none. */
  shed?: CompiledShed | null;
  /** The route's policies in pipeline order (PHASES, then the order of core/policies/index.ts). */
  policies: CompiledPolicy[];
}

/** One row of the precedence-ordered table: a route for one of its hosts. */
export interface CompiledEntry {
  route: number;
  host: HostSpec;
  methods: number;
  path: PathSpec;
}

export interface CompiledConfig {
  version: typeof COMPILED_CONFIG_VERSION;
  /** `sha256-<hex>` of the validated config, to tell deployments apart. */
  hash: string;
  trustedProxies: string[];
  origins: Record<string, CompiledOrigin>;
  /** Origins grouped by region (absent: none). */
  pools?: Record<string, CompiledPool>;
  /** Where Node and Deno read the client's place (absent: nowhere). */
  geo?: CompiledGeo;
  routes: CompiledRoute[];
  entries: CompiledEntry[];
  /**
   * Request headers only the gateway may set (identity headers, its assertion), lower-case:
   * stripped from every client request on every route.
   */
  gatewayHeaders: string[];
  /** The hot path's route table, base64. */
  table: string;
  /**
   * Things that are valid but rarely meant (a path ending in "/"). `validate`, `dev` and
   * `build` print them; they never stop a config.
   */
  warnings: ConfigIssue[];
  /** The `observability` block, compiled; null or absent when the config has none. */
  observability?: CompiledObservability | null;
  /** The `admin` block's token, when there is one: guards the gateway's admin endpoints. */
  admin?: { env: string } | null;
}

/** Identity helper that gives TypeScript users completion and checking for their config. */
export function defineConfig(config: PorticoConfig): PorticoConfig {
  return config;
}

function formatPath(path: readonly { key: unknown }[] | undefined): string {
  if (!path) return '';
  let out = '';
  for (const item of path) {
    const key = item.key;
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** Hides credentials in URLs (`https://user:secret@host`) so messages never carry a secret. */
function redact(text: string): string {
  return text.replace(/(\/\/)[^/@\s"]*@/g, '$1***@');
}

/** What was found, as the user wrote it (short JSON), with credentials hidden. */
/** Fields whose values a message never shows: they may hold a secret written in clear by mistake. */
const SENSITIVE_KEY = /secret|token|password|passwd|credential|authorization|api[-_]?key|private/i;

function describeFound(issue: v.BaseIssue<unknown>): string {
  if (issue.input === undefined) return 'nothing';
  if (issue.message.includes('{ "env"') || issue.path?.some((p) => typeof p.key === 'string' && SENSITIVE_KEY.test(p.key))) {
    return `${typeof issue.input === 'object' && issue.input !== null ? 'an object' : `a ${typeof issue.input}`} (not shown: this field may hold a secret)`;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(issue.input);
  } catch {
    text = undefined;
  }
  if (text === undefined) return issue.received;
  return redact(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/**
 * A union whose input is an object reports, instead of itself, what its object branch found
 * (a policy field is `false` or the policy's block: `{ x: 1 }` should hear about `x`, not about
 * `false`). Sub-issues carry paths relative to the union, so they get its path in front.
 */
function flattenUnions(issues: readonly v.BaseIssue<unknown>[]): v.BaseIssue<unknown>[] {
  return issues.flatMap((issue) => {
    if (issue.type !== 'union' || !issue.issues || typeof issue.input !== 'object' || issue.input === null) return [issue];
    // Branches that failed on the input's type alone (`false`, a string) say nothing useful
    // about an object: keep what the object branches found inside it.
    const inner = issue.issues.filter((i) => !(i.kind === 'schema' && (i.path?.length ?? 0) === 0));
    if (inner.length === 0) return [issue];
    return flattenUnions(inner.map((i) => ({ ...i, path: [...(issue.path ?? []), ...(i.path ?? [])] }) as v.BaseIssue<unknown>));
  });
}

function issuesFromValibot(raw: readonly v.BaseIssue<unknown>[]): ConfigIssue[] {
  const issues = flattenUnions(raw);
  return issues.map((issue) => {
    const last = issue.path?.[issue.path.length - 1];
    if (issue.type === 'strict_object' && issue.expected === 'never') {
      const hint = typeof last?.key === 'string' ? didYouMean(last.key, knownFieldsFor(issue.path ?? [])) : '';
      return {
        path: formatPath(issue.path?.slice(0, -1)),
        message: `unknown field ${issue.received};${hint ? `${hint}` : ''} ${issue.message}`,
      };
    }
    // A required field that is absent: valibot reports it with the parent object's message.
    if (issue.input === undefined && last && (issue.type === 'strict_object' || issue.type === 'object')) {
      return { path: formatPath(issue.path?.slice(0, -1)), message: `missing required field "${String(last.key)}"` };
    }
    return { path: formatPath(issue.path), message: `${issue.message}, got ${describeFound(issue)}` };
  });
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface ParsedPattern {
  kind: 'exact' | 'params' | 'prefix';
  path: Extract<PathSpec, { kind: 'segments' }>;
  paramNames: string[];
}

function parsePattern(pattern: string, at: string, issues: ConfigIssue[]): ParsedPattern | null {
  const parts = pattern.slice(1).split('/');
  const segments: ParsedPattern['path']['segments'] = [];
  const paramNames: string[] = [];
  let rest = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (part === '*') {
      if (i !== parts.length - 1) {
        issues.push({ path: at, message: `"*" may only be the last segment, got ${JSON.stringify(pattern)}` });
        return null;
      }
      rest = true;
      paramNames.push('*');
      continue;
    }
    if (part.startsWith(':')) {
      const name = part.slice(1);
      if (!PARAM_NAME.test(name)) {
        issues.push({ path: at, message: `expected a param name of letters, digits and _, got ${JSON.stringify(part)}` });
        return null;
      }
      if (paramNames.includes(name)) {
        issues.push({ path: at, message: `param ":${name}" appears twice in ${JSON.stringify(pattern)}` });
        return null;
      }
      paramNames.push(name);
      segments.push({ kind: 'param' });
      continue;
    }
    if (part.includes('*') || part.includes(':')) {
      issues.push({
        path: at,
        message: `expected "*" or ":name" to fill a whole segment, got ${JSON.stringify(part)} in ${JSON.stringify(pattern)}`,
      });
      return null;
    }
    segments.push({ kind: 'static', value: part });
  }
  // Static text must already be in normalized form, or it could never match a normalized path.
  const staticText = '/' + parts.map((p) => (p.startsWith(':') || p === '*' ? 'x' : p)).join('/');
  const norm = normalizePath(staticText);
  if (!norm.ok || norm.path !== staticText) {
    issues.push({
      path: at,
      message: norm.ok
        ? `expected a path in normalized form (requests are normalized before matching), got ${JSON.stringify(pattern)}; write ${JSON.stringify(norm.path)}`
        : `expected a routable path, got ${JSON.stringify(pattern)}: ${norm.reason}`,
    });
    return null;
  }
  const kind = rest ? 'prefix' : paramNames.length > 0 ? 'params' : 'exact';
  return {
    kind,
    path: { kind: 'segments', segments, rest },
    paramNames,
  };
}

function hostSpec(host: string): HostSpec {
  const h = host.endsWith('.') ? host.slice(0, -1) : host;
  return h.startsWith('*.') ? { kind: 'suffix', value: h.slice(1) } : { kind: 'exact', value: h };
}

function methodMask(methods: readonly string[] | undefined): number {
  if (!methods) return 0;
  let mask = 0;
  for (const m of methods) mask |= (METHOD_BITS as Record<string, number>)[m] ?? 0;
  // GET implies HEAD (RFC 9110 §9.3.2).
  if (mask & METHOD_BITS.GET) mask |= METHOD_BITS.HEAD;
  return mask;
}

/**
 * Why a regex cannot be a route, or null. Regex routes run on RE2 (see router/route-matcher.ts),
 * which matches in linear time and so has no lookaround and no backreferences: those are named
 * here, with what to write instead, rather than left to RE2's parser message.
 */
function refuseRegex(source: string): string | null {
  try {
    RE2JS.compile(source);
    return null;
  } catch (e) {
    const engine = 'regex routes run on RE2, a linear-time engine';
    if (/\(\?<?[=!]/.test(source)) {
      return `expected a regex without lookahead or lookbehind ((?= (?! (?<= (?<!): ${engine}, which has none; match the path itself, or use two routes`;
    }
    if (/\\[1-9]|\\k</.test(source)) {
      return `expected a regex without backreferences (\\1, \\k<name>): ${engine}, which has none (a backreference can take exponential time)`;
    }
    return `expected a valid regular expression (${engine}): ${(e as Error).message.replace(/^error parsing regexp: /, '')}`;
  }
}

const KIND_RANK: Record<RouteKind, number> = { exact: 0, params: 1, prefix: 2, regex: 3, fallback: 4 };

/** What the precedence sort compares, in the order it compares them. */
export interface SortKey {
  fallback: number;
  hostRank: number;
  hostLen: number;
  kind: number;
  /** For prefix routes: longer static prefix first. */
  prefixLen: number;
  /** Per segment 0 = static, 1 = param: static segments win, left to right. */
  shape: number[];
  headerCount: number;
  index: number;
}

/** The field of the sort key that decided between two entries (`index`: declaration order). */
export type RankRule =
  | 'fallback'
  | 'hostRank'
  | 'hostLen'
  | 'kind'
  | 'prefixLen'
  | 'shape'
  | 'segmentCount'
  | 'headerCount'
  | 'index';

/**
 * The precedence comparison, and which rule decided it. The table's sort and `explain` both use
 * this one function, so what explain says is what the sort did.
 */
export function rankEntries(a: SortKey, b: SortKey): { order: number; rule: RankRule } {
  if (a.fallback !== b.fallback) return { order: a.fallback - b.fallback, rule: 'fallback' };
  if (a.hostRank !== b.hostRank) return { order: a.hostRank - b.hostRank, rule: 'hostRank' };
  if (a.hostLen !== b.hostLen) return { order: b.hostLen - a.hostLen, rule: 'hostLen' };
  if (a.kind !== b.kind) return { order: a.kind - b.kind, rule: 'kind' };
  if (a.prefixLen !== b.prefixLen) return { order: b.prefixLen - a.prefixLen, rule: 'prefixLen' };
  const n = Math.min(a.shape.length, b.shape.length);
  for (let i = 0; i < n; i++) {
    const d = (a.shape[i] ?? 0) - (b.shape[i] ?? 0);
    if (d !== 0) return { order: d, rule: 'shape' };
  }
  if (a.shape.length !== b.shape.length) return { order: b.shape.length - a.shape.length, rule: 'segmentCount' };
  if (a.headerCount !== b.headerCount) return { order: b.headerCount - a.headerCount, rule: 'headerCount' };
  return { order: a.index - b.index, rule: 'index' };
}

/** Characters of a path pattern before its first param or rest: longer prefixes win. */
function staticPrefixLength(pattern: string): number {
  const parts = pattern.slice(1).split('/');
  const i = parts.findIndex((p) => p === '*' || p.startsWith(':'));
  if (i < 0) return pattern.length;
  return i === 0 ? 0 : parts.slice(0, i).join('/').length + 1;
}

/** The sort key of one entry of the table, from the compiled route and entry alone. */
export function sortKeyOf(route: CompiledRoute, entry: CompiledEntry): SortKey {
  const spec = entry.host;
  return {
    fallback: route.kind === 'fallback' ? 1 : 0,
    hostRank: spec.kind === 'exact' ? 0 : spec.kind === 'suffix' ? 1 : 2,
    hostLen: spec.kind === 'any' ? 0 : spec.value.length,
    kind: KIND_RANK[route.kind],
    prefixLen: route.kind === 'prefix' ? staticPrefixLength(route.pattern) : 0,
    shape: entry.path.kind === 'segments' ? entry.path.segments.map((s) => (s.kind === 'static' ? 0 : 1)) : [],
    headerCount: route.headers.length,
    index: route.index,
  };
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Decodes a compiled route table from its base64 form. */
export function decodeTable(table: string): Uint8Array {
  const s = atob(table);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A stable JSON text: object keys sorted, so the hash does not depend on key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Checks what the schema cannot see (references, reserved paths, patterns, regexes) and builds
 * the compiled routes. All problems are collected into `issues`.
 */
/** A route as far as it is well-formed: `broken` names the fields the schema rejected. */
interface CheckedRoute {
  route: Partial<RouteConfig>;
  broken: ReadonlySet<string>;
}

function compileRoutes(
  config: { routes: readonly (CheckedRoute | null)[]; defaults?: unknown } & Record<string, unknown>,
  originNames: readonly string[],
  skipPolicies: ReadonlySet<string>,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): { routes: CompiledRoute[]; entries: CompiledEntry[]; gatewayHeaders: string[] } {
  const gatewayHeaders = new Set<string>();
  const routes: CompiledRoute[] = [];
  const keyed: { key: SortKey; entry: CompiledEntry }[] = [];
  const ids = new Map<string, number>();
  const signatures = new Map<string, number>();
  // Policies see the config as written: routes as route objects, not compile's checked pieces.
  const asWritten = { ...config, routes: config.routes.map((c) => c?.route ?? null) };

  config.routes.forEach((checked, index) => {
    // null: a route that is not even an object; the schema's problems are reported.
    if (checked === null) return;
    const { route, broken } = checked;
    const at = `routes[${index}]`;
    const id = route.id ?? `route-${index}`;
    if (ids.has(id)) issues.push({ path: `${at}.id`, message: `duplicate route id "${id}" (also routes[${ids.get(id)}])` });
    ids.set(id, index);

    const pools = (config['pools'] ?? {}) as Record<string, { origins: string[] }>;
    // A single name that is a pool's names the pool (pool and origin names never collide).
    const pool = typeof route.upstream === 'string' && Object.hasOwn(pools, route.upstream) ? route.upstream : undefined;
    const upstream =
      pool !== undefined
        ? [...(pools[pool]?.origins ?? [])]
        : route.upstream === undefined
          ? []
          : typeof route.upstream === 'string'
            ? [route.upstream]
            : route.upstream;
    if (pool === undefined)
      upstream.forEach((name, i) => {
        if (!originNames.includes(name)) {
          const where = typeof route.upstream === 'string' ? `${at}.upstream` : `${at}.upstream[${i}]`;
          const hint = didYouMean(name, [...originNames, ...Object.keys(pools)]);
          issues.push({
            path: where,
            message: originNames.length
              ? `unknown origin "${name}"${hint ? `;${hint}` : ''} (defined: ${originNames.join(', ')})`
              : `unknown origin "${name}" (no origins are defined)`,
          });
        }
      });

    // Checked before the match, whose errors end this route's checks: every problem of a route
    // is reported in the same run.
    const policies = compilePolicies(route, at, asWritten, issues, gatewayHeaders, skipPolicies);
    // A match the schema rejected has had its say; checking the rest of it would only guess.
    if (broken.has('match') || broken.has('fallback')) return;

    const match = route.match;
    const given = [match?.path !== undefined, match?.regex !== undefined, route.fallback === true].filter(Boolean).length;
    if (given !== 1) {
      issues.push({
        path: given === 0 ? at : `${at}.match`,
        message:
          given === 0
            ? 'expected exactly one of match.path, match.regex or fallback: true'
            : 'expected only one of match.path, match.regex and fallback: true',
      });
      return;
    }

    let kind: RouteKind;
    let path: PathSpec;
    let paramNames: string[] = [];
    let pattern: string;
    let regex: string | undefined;
    if (match?.path !== undefined) {
      pattern = match.path;
      const parsed = parsePattern(match.path, `${at}.match.path`, issues);
      if (!parsed) return;
      // Kong's paths are prefixes; here "/api/" is one exact path. Valid, but rarely meant.
      if (parsed.kind === 'exact' && match.path.length > 1 && match.path.endsWith('/')) {
        const bare = match.path.slice(0, -1);
        warnings.push({
          path: `${at}.match.path`,
          message: `${JSON.stringify(match.path)} matches only that exact path, trailing slash included; for everything under it write ${JSON.stringify(`${bare}/*`)}, for the path without the slash ${JSON.stringify(bare)}`,
        });
      }
      for (const reserved of RESERVED_PATHS) {
        if (parsed.kind === 'exact' && (match.path === reserved || match.path.startsWith(reserved + '/'))) {
          issues.push({ path: `${at}.match.path`, message: `${reserved} is reserved for the gateway's own endpoint` });
        }
      }
      kind = parsed.kind;
      path = parsed.path;
      paramNames = parsed.paramNames;
    } else if (match?.regex !== undefined) {
      pattern = match.regex;
      regex = match.regex;
      const refused = refuseRegex(match.regex);
      if (refused) {
        issues.push({ path: `${at}.match.regex`, message: refused });
        return;
      }
      // Named groups become params, in the order they open.
      const named = RE2JS.compile(match.regex).namedGroups();
      paramNames = Object.keys(named).sort((a, b) => (named[a] ?? 0) - (named[b] ?? 0));
      kind = 'regex';
      path = { kind: 'deferred' };
    } else {
      pattern = '(fallback)';
      kind = 'fallback';
      path = { kind: 'deferred' };
    }

    const headers: CompiledHeaderCondition[] = Object.entries(match?.headers ?? {}).map(([name, cond]) =>
      typeof cond === 'string' ? { name: name.toLowerCase(), equals: cond } : { name: name.toLowerCase(), present: cond.present },
    );

    const methods = match?.methods
      ? [...new Set(match.methods.includes('GET') ? [...match.methods, 'HEAD'] : match.methods)]
      : null;
    const hosts = match?.hosts ?? null;
    const compiled: CompiledRoute = {
      index,
      id,
      kind,
      pattern,
      paramNames,
      ...(regex !== undefined ? { regex } : {}),
      methods,
      hosts,
      headers,
      upstream,
      timeoutMs: route.timeoutMs ?? null,
      pool: pool ?? null,
      retry: compileRetry(route.retry),
      breakers: route.breaker ?? upstream.length > 1,
      shed: route.shed
        ? {
            maxConcurrent: route.shed.maxConcurrent,
            queue: route.shed.queue ?? 0,
            queueTimeoutMs: route.shed.queueTimeoutMs ?? 1000,
            retryAfterSeconds: route.shed.retryAfterSeconds ?? 1,
          }
        : null,
      policies,
    };
    routes.push(compiled);

    // A route identical to an earlier one in everything that matching looks at can never win.
    const signature = canonicalJson([pattern, kind, methods?.slice().sort() ?? null, hosts?.slice().sort() ?? null, headers]);
    const earlier = signatures.get(signature);
    if (earlier !== undefined) {
      issues.push({
        path: at,
        message: `can never match: routes[${earlier}] has the same path, methods, hosts and header conditions`,
      });
    }
    signatures.set(signature, index);

    const mask = methodMask(match?.methods);
    for (const host of hosts ?? [null]) {
      const spec: HostSpec = host === null ? { kind: 'any' } : hostSpec(host);
      const entry: CompiledEntry = { route: routes.length - 1, host: spec, methods: mask, path };
      keyed.push({ key: sortKeyOf(compiled, entry), entry });
    }
  });

  keyed.sort((a, b) => rankEntries(a.key, b.key).order);
  return { routes, entries: keyed.map((k) => k.entry), gatewayHeaders: [...gatewayHeaders].sort() };
}

const PHASE_RANK = new Map(PHASES.map((p, i) => [p, i]));

/** Removes the issues from `from` on that an earlier issue already says (same path and message). */
function dropRepeated(issues: ConfigIssue[], from: number): void {
  const seen = new Set(issues.slice(0, from).map((i) => `${i.path}\n${i.message}`));
  const fresh = issues.splice(from).filter((i) => !seen.has(`${i.path}\n${i.message}`));
  issues.push(...fresh);
}

/**
 * Compiles a route's policy blocks, each from the route or else from `defaults`, in pipeline
 * order. `false` on the route turns a default off.
 */
function compilePolicies(
  route: Partial<RouteConfig>,
  at: string,
  config: Record<string, unknown>,
  issues: ConfigIssue[],
  gatewayHeaders: Set<string>,
  skip: ReadonlySet<string>,
): CompiledPolicy[] {
  const defaults = (config['defaults'] ?? {}) as Record<string, unknown>;
  const ordered = [...POLICIES].sort((a, b) => (PHASE_RANK.get(a.phase) ?? 0) - (PHASE_RANK.get(b.phase) ?? 0));
  const out: CompiledPolicy[] = [];
  const siblings: Record<string, unknown> = {};
  for (const policy of ordered) {
    // A policy whose top-level blocks the schema rejected: its references cannot be checked.
    if (skip.has(policy.name)) continue;
    const own = (route as Record<string, unknown>)[policy.name];
    if (own === false) continue;
    const fromDefaults = own === undefined;
    if (fromDefaults && !('defaultable' in policy && policy.defaultable)) continue;
    const block = fromDefaults ? defaults[policy.name] : own;
    if (block === undefined || block === false) continue;
    const where = fromDefaults ? `defaults.${policy.name}` : `${at}.${policy.name}`;
    const before = issues.length;
    // Each policy's own types meet here: the list is heterogeneous by design.
    const compiled = (policy.compile as (b: unknown, c: unknown) => unknown)(block, {
      at: where,
      issues,
      config,
      siblings,
    });
    // A bad `defaults` block is compiled for every route: say each of its problems once.
    if (fromDefaults) dropRepeated(issues, before);
    if (compiled === undefined) continue;
    siblings[policy.name] = compiled;
    const headers = (policy as { gatewayHeaders?: (c: unknown) => string[] }).gatewayHeaders?.(compiled) ?? [];
    for (const h of headers) gatewayHeaders.add(h.toLowerCase());
    out.push({ name: policy.name, phase: policy.phase, at: where, config: compiled });
  }
  return out;
}

type AnySchema = v.GenericSchema & {
  entries?: Record<string, AnySchema>;
  wrapped?: AnySchema;
  item?: AnySchema;
  value?: AnySchema;
  options?: AnySchema[];
};

/** The object schemas a value at `keys` may be checked by (a union gives several). */
function objectSchemasAt(schema: AnySchema, keys: readonly unknown[]): AnySchema[] {
  let current: AnySchema[] = [schema];
  const expand = (list: AnySchema[]): AnySchema[] =>
    list.flatMap((s) => (s.wrapped ? expand([s.wrapped]) : s.options ? expand(s.options) : [s]));
  for (const key of keys) {
    current = expand(current).flatMap((s) => {
      if (s.entries) return typeof key === 'string' && s.entries[key] ? [s.entries[key]] : [];
      if (s.item) return [s.item];
      if (s.value) return [s.value];
      return [];
    });
  }
  return expand(current).filter((s) => s.entries);
}

/** Field names the schema knows where `path` points at an unknown one. */
function knownFieldsFor(path: readonly { key: unknown }[]): string[] {
  return objectSchemasAt(
    ConfigSchema as unknown as AnySchema,
    path.slice(0, -1).map((p) => p.key),
  ).flatMap((s) => Object.keys(s.entries ?? {}));
}

const PolicyBlockSchemas = ConfigSchema.entries as unknown as Record<string, v.GenericSchema>;

/** Parses the pieces of a config one by one, keeping what is well-formed and noting what is not. */
function checkPieces(raw: Record<string, unknown>): {
  config: Record<string, unknown> & { routes: (CheckedRoute | null)[] };
  skipPolicies: Set<string>;
} {
  const skipPolicies = new Set<string>();
  const config: Record<string, unknown> & { routes: (CheckedRoute | null)[] } = { routes: [] };
  const origins: Record<string, unknown> = {};
  if (raw['origins'] && typeof raw['origins'] === 'object') {
    for (const [name, o] of Object.entries(raw['origins'] as Record<string, unknown>)) {
      const one = v.safeParse(OriginSchema, o);
      if (one.success) origins[name] = one.output;
    }
  }
  config['origins'] = origins;
  // Pools as written (a broken one is the schema's to report, and still names a pool).
  if (raw['pools'] && typeof raw['pools'] === 'object') {
    const pools: Record<string, unknown> = {};
    for (const [name, p] of Object.entries(raw['pools'] as Record<string, unknown>)) {
      const one = v.safeParse(PoolSchema, p);
      pools[name] = one.success ? one.output : { origins: [] };
    }
    config['pools'] = pools;
  }
  const geo = v.safeParse(GeoSchema, raw['geo']);
  if (geo.success && geo.output) config['geo'] = geo.output;
  // Non-strings (the schema's to report) become null, so the others keep their index.
  if (Array.isArray(raw['trustedProxies'])) {
    config['trustedProxies'] = raw['trustedProxies'].map((t) => (typeof t === 'string' ? t : null));
  }
  for (const policy of POLICIES) {
    for (const block of Object.keys((policy as { blocks?: object }).blocks ?? {})) {
      if (raw[block] === undefined) continue;
      const schema = PolicyBlockSchemas[block];
      const one = schema ? v.safeParse(schema, raw[block]) : null;
      if (one?.success) config[block] = one.output;
      else skipPolicies.add(policy.name);
    }
  }
  if (raw['defaults'] && typeof raw['defaults'] === 'object') {
    const defaults: Record<string, unknown> = {};
    for (const [name, block] of Object.entries(raw['defaults'] as Record<string, unknown>)) {
      const schema = RouteSchema.entries[name as keyof typeof RouteSchema.entries];
      if (!schema || !POLICIES.some((p) => p.name === name)) continue;
      const one = v.safeParse(schema, block);
      if (one.success) defaults[name] = one.output;
    }
    config['defaults'] = defaults;
  }
  const routes = Array.isArray(raw['routes']) ? raw['routes'] : [];
  config.routes = routes.map((r): CheckedRoute | null => {
    if (!r || typeof r !== 'object' || Array.isArray(r)) return null;
    const whole = v.safeParse(RouteSchema, r);
    if (whole.success) return { route: whole.output, broken: new Set() };
    const route: Record<string, unknown> = {};
    const broken = new Set<string>();
    for (const [field, schema] of Object.entries(RouteSchema.entries)) {
      if (!Object.hasOwn(r, field)) continue;
      const one = v.safeParse(schema as v.GenericSchema, (r as Record<string, unknown>)[field]);
      if (one.success) route[field] = one.output;
      else {
        broken.add(field);
        // A rejected policy block is off, rather than replaced by the one in defaults.
        if (POLICIES.some((p) => p.name === field)) route[field] = false;
      }
    }
    return { route: route as Partial<RouteConfig>, broken };
  });
  return { config, skipPolicies };
}

/**
 * Validates and compiles a config. Reports every problem at once: the schema's, and the
 * reference checks' (unknown origins, reserved paths, patterns...) on every part that is
 * well-formed, even when other parts are not.
 * @param input the parsed JSON, or the object given to `defineConfig`
 * @param file where it came from, for messages
 * @throws ConfigError listing every problem with its path
 * @example const compiled = await compileConfig(JSON.parse(text), 'portico.json');
 * for (const w of compiled.warnings) console.warn(`${w.path}: ${w.message}`);
 */
export async function compileConfig(input: unknown, file?: string): Promise<CompiledConfig> {
  if (Array.isArray(input) || input === null || typeof input !== 'object') {
    throw new ConfigError(
      [
        {
          path: '',
          message: `expected a config object { origins, routes, ... }, got ${Array.isArray(input) ? 'an array' : (JSON.stringify(input) ?? typeof input)}`,
        },
      ],
      file,
    );
  }
  const raw = input as Record<string, unknown>;
  const parsed = v.safeParse(ConfigSchema, input, { abortEarly: false });
  const issues: ConfigIssue[] = parsed.success ? [] : issuesFromValibot(parsed.issues);
  const warnings: ConfigIssue[] = [];
  const { config, skipPolicies } = parsed.success
    ? {
        config: {
          ...(parsed.output as Record<string, unknown>),
          routes: parsed.output.routes.map((route) => ({ route, broken: new Set<string>() })),
        },
        skipPolicies: new Set<string>(),
      }
    : checkPieces(raw);

  const trustedProxies: string[] = [];
  ((config['trustedProxies'] ?? []) as (string | null)[]).forEach((text, i) => {
    if (text === null) return;
    if (!parseCidr(text))
      issues.push({ path: `trustedProxies[${i}]`, message: `expected an IP address or CIDR range, got "${text}"` });
    else trustedProxies.push(text);
  });

  // Names as written, even of origins whose shape is wrong: a route naming one is not "unknown".
  const originNames = raw['origins'] && typeof raw['origins'] === 'object' ? Object.keys(raw['origins']) : [];
  const origins: Record<string, CompiledOrigin> = {};
  for (const [name, o] of Object.entries(config['origins'] as Record<string, OriginConfig>)) {
    if (o.region === undefined && originNames.length > 1) {
      issues.push({
        path: formatPath([{ key: 'origins' }, { key: name }]),
        message: `missing required field "region" (optional only when there is a single origin, whose region is then its name)`,
      });
    }
    if ((o.queue !== undefined || o.queueTimeoutMs !== undefined) && o.maxConcurrent === undefined) {
      issues.push({
        path: formatPath([{ key: 'origins' }, { key: name }, { key: o.queue !== undefined ? 'queue' : 'queueTimeoutMs' }]),
        message: 'an origin queue needs maxConcurrent (the queue holds requests over it)',
      });
    }
    const url = new URL(o.url);
    const hc = o.healthCheck;
    origins[name] = {
      name,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      region: o.region ?? name,
      timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(o.breaker === undefined ? {} : { breaker: o.breaker === false ? null : { ...DEFAULT_BREAKER, ...o.breaker } }),
      ...(o.maxConcurrent === undefined ? {} : { maxConcurrent: o.maxConcurrent }),
      ...(o.queue === undefined ? {} : { queue: o.queue }),
      ...(o.queueTimeoutMs === undefined ? {} : { queueTimeoutMs: o.queueTimeoutMs }),
      ...(hc === undefined
        ? {}
        : {
            healthCheck: {
              path: hc.path,
              intervalMs: hc.intervalMs ?? 10_000,
              timeoutMs: hc.timeoutMs ?? 2000,
              healthyThreshold: hc.healthyThreshold ?? 2,
              unhealthyThreshold: hc.unhealthyThreshold ?? 3,
              expectedStatuses: hc.expectedStatuses ?? [],
            },
          }),
    };
  }
  const pools = compilePools(config['pools'] as Record<string, PoolConfig> | undefined, origins, originNames, issues);
  const geoBlock = config['geo'] as v.InferOutput<typeof GeoSchema> | undefined;
  const geo: CompiledGeo = {
    countryHeader: geoBlock?.countryHeader?.toLowerCase() ?? null,
    continentHeader: geoBlock?.continentHeader?.toLowerCase() ?? null,
    mmdb: geoBlock?.mmdb ?? null,
  };

  // compileBlocks sees the config as written (routes as route objects, not compile's pieces).
  const asWritten = { ...config, routes: (config['routes'] as ({ route: unknown } | null)[]).map((r) => r?.route ?? null) };
  for (const policy of POLICIES) {
    if (!('compileBlocks' in policy) || skipPolicies.has(policy.name)) continue;
    (policy.compileBlocks as (c: unknown, i: ConfigIssue[]) => void)(asWritten, issues);
  }
  const rawDefaults = raw['defaults'] && typeof raw['defaults'] === 'object' ? Object.keys(raw['defaults']) : [];
  for (const name of rawDefaults) {
    const policy = POLICIES.find((p) => p.name === name);
    if (policy && !('defaultable' in policy && policy.defaultable)) {
      issues.push({ path: `defaults.${name}`, message: `${name} is set per route only` });
    }
  }

  const { routes, entries, gatewayHeaders } = compileRoutes(config, originNames, skipPolicies, issues, warnings);
  const adminBlock = config['admin'] as { token?: { env: string } } | undefined;
  const observability = compileObservability(
    parsed.success ? parsed.output.observability : undefined,
    routes,
    adminBlock?.token ? { env: adminBlock.token.env } : null,
    issues,
  );
  if (issues.length > 0) throw new ConfigError(issues, file);
  const valid = (parsed as v.SafeParseResult<typeof ConfigSchema> & { success: true }).output;

  const tableEntries: TableEntry[] = entries.map((e) => ({ host: e.host, methods: e.methods, path: e.path }));
  return {
    version: COMPILED_CONFIG_VERSION,
    hash: `sha256-${await sha256Hex(canonicalJson(valid))}`,
    trustedProxies,
    origins,
    pools,
    geo,
    routes,
    entries,
    gatewayHeaders,
    table: toBase64(compileRouteTable(tableEntries)),
    warnings,
    observability,
    admin: adminBlock?.token ? { env: adminBlock.token.env } : null,
  };
}

type PoolConfig = v.InferOutput<typeof PoolSchema>;

/** A route's retry block with every default filled in; null for `retry: false`. */
function compileRetry(retry: v.InferOutput<typeof RetrySchema> | false | undefined): CompiledRetry | null {
  if (retry === false) return null;
  if (retry === undefined) return DEFAULT_RETRY;
  const on = retry.on;
  return {
    attempts: retry.attempts ?? DEFAULT_RETRY.attempts,
    connect: on ? on.includes('connect') : DEFAULT_RETRY.connect,
    timeout: on ? on.includes('timeout') : DEFAULT_RETRY.timeout,
    statuses: on ? on.filter((x): x is number => typeof x === 'number') : DEFAULT_RETRY.statuses,
    methods: retry.methods
      ? [...new Set(retry.methods.includes('GET') ? [...retry.methods, 'HEAD'] : retry.methods)]
      : DEFAULT_RETRY.methods,
    backoffMs: retry.backoffMs ?? DEFAULT_RETRY.backoffMs,
    maxBackoffMs: retry.maxBackoffMs ?? DEFAULT_RETRY.maxBackoffMs,
    perTryTimeoutMs: retry.perTryTimeoutMs ?? null,
    deadlineMs: retry.deadlineMs ?? null,
    maxRetryAfterMs: retry.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs,
    budget: {
      ratio: retry.budget?.ratio ?? DEFAULT_RETRY.budget.ratio,
      minPerSecond: retry.budget?.minPerSecond ?? DEFAULT_RETRY.budget.minPerSecond,
      windowMs: DEFAULT_RETRY.budget.windowMs,
    },
    sameOrigin: true,
  };
}

/** Pools with their region maps checked against the regions their origins have. */
function compilePools(
  pools: Record<string, PoolConfig> | undefined,
  origins: Record<string, CompiledOrigin>,
  originNames: readonly string[],
  issues: ConfigIssue[],
): Record<string, CompiledPool> {
  const out: Record<string, CompiledPool> = {};
  for (const [name, pool] of Object.entries(pools ?? {})) {
    const at = formatPath([{ key: 'pools' }, { key: name }]);
    if (originNames.includes(name)) {
      issues.push({ path: at, message: `"${name}" is an origin's name too: give the pool another name` });
    }
    pool.origins.forEach((o, i) => {
      if (!originNames.includes(o)) {
        const hint = didYouMean(o, originNames);
        issues.push({
          path: `${at}.origins[${i}]`,
          message: `unknown origin "${o}"${hint ? `;${hint}` : ''} (defined: ${originNames.join(', ') || 'none'})`,
        });
      }
    });
    const regions = [...new Set(pool.origins.map((o) => origins[o]?.region).filter((r): r is string => r !== undefined))];
    const checkRegion = (region: string, where: string): void => {
      if (regions.length > 0 && !regions.includes(region)) {
        issues.push({ path: where, message: `unknown region "${region}" (the pool's origins are in: ${regions.join(', ')})` });
      }
    };
    const countries: Record<string, string> = {};
    for (const [cc, region] of Object.entries(pool.countries ?? {})) {
      if (!/^[A-Za-z]{2}$/.test(cc)) {
        issues.push({ path: `${at}.countries.${cc}`, message: `expected a two-letter country code such as SG, got "${cc}"` });
        continue;
      }
      checkRegion(region, `${at}.countries.${cc}`);
      countries[cc.toUpperCase()] = region;
    }
    const continents: Record<string, string> = {};
    for (const [code, region] of Object.entries(pool.continents ?? {})) {
      if (!CONTINENT_CODES.includes(code.toUpperCase())) {
        issues.push({
          path: `${at}.continents.${code}`,
          message: `expected a continent code (${CONTINENT_CODES.join(', ')}), got "${code}"`,
        });
        continue;
      }
      checkRegion(region, `${at}.continents.${code}`);
      continents[code.toUpperCase()] = region;
    }
    if (pool.defaultRegion !== undefined) checkRegion(pool.defaultRegion, `${at}.defaultRegion`);
    out[name] = {
      name,
      origins: [...pool.origins],
      countries,
      continents,
      defaultRegion: pool.defaultRegion ?? regions[0] ?? '',
    };
  }
  return out;
}
