/**
 * What a policy is: three moments, as Envoy splits a filter into config, factory and per-stream
 * filter (DESIGN.md, "Policies: how the pipeline works").
 *
 * 1. **compile**, once, at `validate`, startup and `portico build`: the route's block (already
 *    checked by the policy's valibot schema) is checked further, references to top-level blocks
 *    are resolved, and the result is plain JSON, which the build embeds;
 * 2. **create**, once per route at startup: the compiled block and the gateway's capabilities give
 *    the route's handler;
 * 3. **handle**, per request, `(exchange, next) => Promise<Response>`, in the onion style. A policy
 *    that refuses returns a problem response (`exchange.refuse`) without calling `next`; it does
 *    not throw, so no stack trace is built per refused request.
 */
import type * as v from 'valibot';
import type { Capabilities, LogRecord, RequestContext, Stores } from '../capabilities.ts';
import type { CompiledConfig, CompiledRoute } from '../config/compile.ts';
import type { ConfigIssue } from '../errors.ts';
import type { HotExports } from '../hot/index.ts';
import type { PorticoErrorCode } from './problems.ts';
import type { RequestTrace } from '../observe/request-trace.ts';

/**
 * The fixed order of the route pipeline. The config turns a policy on or off, never moves it.
 * Request id, trace context and observation are the gateway's own and wrap all of these.
 */
export const PHASES = ['cors', 'auth', 'identity', 'ratelimit', 'cache', 'request', 'upstream', 'response'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * What a policy may need from the target. `portico build --target T` refuses a config whose
 * routes need what T cannot give (scripts/build/needs.ts).
 * - `kv`, `counters`, `cache`: a store shared beyond one instance (not core's in-memory fallback);
 * - `waitUntil`: work that outlives the response;
 * - `geo`: the client's location from the platform;
 * - `secrets`: `{ "env": NAME }` references read from the environment (found by the build in any
 *   policy's compiled block; no policy needs to declare it);
 * - `alg:<JWA>`: a signature algorithm the engine can verify, e.g. `alg:ES256`.
 */
/** `files`: a file read at start (geo.mmdb's database), which only Node and Deno can do. */
export type Need = 'kv' | 'counters' | 'cache' | 'waitUntil' | 'geo' | 'secrets' | 'files' | `alg:${string}`;

/** The identity an auth policy established for a request. */
export interface Identity {
  /** Which policy established it. */
  kind: 'jwt' | 'apiKey';
  /** JWT `sub`, when there is one. */
  subject?: string;
  /** API-key consumer name, or the JWT's configured consumer claim. */
  consumer?: string;
  /** Scopes or roles, from the JWT's scope claim. */
  scopes: string[];
  /** The verified JWT claims (empty for API keys). */
  claims: Record<string, unknown>;
  /** API-key metadata: plan, limits... (empty for JWTs). */
  metadata: Record<string, unknown>;
}

/** One request as it goes through a route's pipeline. Created by the gateway, shared by the policies. */
export interface Exchange {
  readonly request: Request;
  readonly url: URL;
  readonly method: string;
  /** Host of the request, lower-case, without port or trailing dot. */
  readonly host: string;
  /** The normalized path the route matched. */
  readonly path: string;
  readonly route: CompiledRoute;
  readonly params: Record<string, string>;
  readonly requestId: string;
  /** The client's address after trusted-proxy resolution ("" when unknown). */
  readonly clientAddress: string;
  readonly context: RequestContext;
  /** Headers that go to the origin: prepared by the gateway, edited by request-phase policies. */
  readonly upstreamHeaders: Headers;
  /** Path sent to the origin (after rewrite); starts as the normalized path. */
  upstreamPath: string;
  /** Query sent to the origin, with its `?`, or "". Policies may remove parameters (API keys). */
  upstreamSearch: string;
  /** Set by an auth policy. */
  identity: Identity | null;
  /** Fields added to this request's access-log record (no secrets, no tokens). */
  readonly logFields: Record<string, unknown>;
  /**
   * The request's trace, when the config has an `observability` block: time a step with
   * `await ex.trace?.span('cache.store', 'cache', () => ...)` to give it a span (and a
   * Server-Timing entry for the phases `auth`, `cache`, `origin`).
   */
  trace?: RequestTrace | undefined;
  /** A problem response for this request (with its request id), for a policy that refuses. */
  refuse(
    code: PorticoErrorCode,
    detail: string,
    headers?: Record<string, string>,
    extensions?: Record<string, unknown>,
  ): Response;
}

export type Next = () => Promise<Response>;
export type PolicyHandler = (exchange: Exchange, next: Next) => Promise<Response>;

/** What compile steps get. */
export interface CompileContext {
  /** Config path of the block being compiled, e.g. `routes[2].jwt`. */
  at: string;
  /** Where problems go; compile returns `undefined` after pushing one it cannot get past. */
  issues: ConfigIssue[];
  /** The validated top-level config (named blocks: `issuers`, `apiKeys`...). */
  config: Record<string, unknown>;
  /** What other policies compiled for the same route so far, by name (in phase order). */
  siblings: Record<string, unknown>;
}

/** A reserved endpoint a policy adds under `/_portico/` (admin APIs). */
export interface GatewayEndpoint {
  /** Path, starting with `/_portico/`. */
  path: string;
  methods: string[];
  handle(request: Request, context: RequestContext): Promise<Response>;
}

/** What create steps get: the gateway's capabilities, resolved. */
export interface PolicyRuntime {
  readonly config: CompiledConfig;
  readonly stores: Stores;
  /** Whether the target gave each store (false: core's per-instance memory fallback). */
  readonly sharedStores: { kv: boolean; cache: boolean };
  readonly now: () => number;
  readonly hot: HotExports;
  readonly log: (record: LogRecord) => void;
  /** Outgoing requests of the gateway's own (JWKS fetches): the target's forward. */
  readonly fetch: Capabilities['forward'];
  /**
   * Resolves a secret reference from the runtime's environment. Throws `SecretError` naming the
   * config path and the variable when it is not set. Never log what it returns.
   */
  secret(ref: SecretRef, at: string): Promise<string>;
  /** Counts what policies do outside a request's own record (the metrics registry, core/observe). */
  readonly metrics?: PolicyMetrics;
}

/** The few metrics policies feed themselves; every label is a config name or a fixed word. */
export interface PolicyMetrics {
  /** A JWKS fetch of `issuer` (a config name) ended: `ok`, `error` or `timeout`. */
  jwksFetch(issuer: string, outcome: 'ok' | 'error' | 'timeout'): void;
  /** A cache purge (by tags, URLs or all; local or fanned out) was applied. */
  cachePurge(): void;
  /** The cache store now holds `bytes` of response bodies (`portico_cache_bytes`). */
  cacheBytes?(bytes: number): void;
}

/** `{ "env": "NAME" }`: a secret read from the runtime's environment at startup, never embedded. */
export interface SecretRef {
  env: string;
}

/**
 * A policy: its schema, its compile step and its handler factory. `Block` is the route block as
 * the schema outputs it, `Compiled` the JSON compile returns, `Shared` what `init` builds once
 * per gateway (caches shared by the routes, e.g. one JWKS cache per issuer).
 */
export interface PolicyDefinition<
  Name extends string = string,
  S extends v.GenericSchema = v.GenericSchema,
  Compiled = unknown,
  Shared = unknown,
  Blocks extends Record<string, v.GenericSchema> = Record<never, v.GenericSchema>,
> {
  /** The route field that turns the policy on, e.g. `cors`. */
  readonly name: Name;
  readonly phase: Phase;
  /** Schema of the route block. */
  readonly schema: S;
  /** Top-level named blocks this policy owns (e.g. `issuers`), with their schemas. */
  readonly blocks?: Blocks;
  /** Whether `defaults.<name>` may set it for every route (a route overrides it, or turns it off with `false`). */
  readonly defaultable?: boolean;
  compile(block: v.InferOutput<S>, context: CompileContext): Compiled | undefined;
  /** Checks of the top-level blocks on their own (e.g. an issuer without algorithms), once per config. */
  compileBlocks?(config: Record<string, unknown>, issues: ConfigIssue[]): void;
  /**
   * What the handler does with bodies, default 'rewrite' (the safe assumption):
   * - 'none': it reads neither the request's nor the response's body, and returns either its own
   *   response or the very Response `next()` gave it (its headers may be edited in place);
   * - 'read': it reads a body (a cache storing responses);
   * - 'rewrite': it replaces a body or the Response around it.
   * A route whose policies are all 'none' may relay origin bodies natively on the runtimes that
   * can (ForwardInit.relay).
   */
  readonly bodies?: 'none' | 'read' | 'rewrite';
  /** What the compiled block needs from the target. */
  needs?(compiled: Compiled, config: CompiledConfig): Need[];
  /**
   * Request headers that only the gateway may set (identity headers, its assertion): stripped
   * from every client request, on every route, whether this policy runs there or not.
   */
  gatewayHeaders?(compiled: Compiled): string[];
  /** Once per gateway, before any `create`. */
  init?(runtime: PolicyRuntime): Shared | Promise<Shared>;
  /** Reserved endpoints the policy adds, once per gateway. */
  endpoints?(runtime: PolicyRuntime, shared: Shared): GatewayEndpoint[];
  /** A few words for `explain` about the compiled block (e.g. `issuer demo, scope read`); never a secret. */
  describe?(compiled: Compiled): string;
  /**
   * Once per route: the handler for the compiled block. `at` is the block's config path
   * (`routes[2].jwt`, or `defaults.cors`), for messages such as a missing secret's.
   */
  create(compiled: Compiled, runtime: PolicyRuntime, shared: Shared, at: string): PolicyHandler | Promise<PolicyHandler>;
}

/** Types a policy definition, keeping its name literal so the config type knows the route field. */
export function definePolicy<
  const Name extends string,
  S extends v.GenericSchema,
  Compiled,
  Shared = undefined,
  Blocks extends Record<string, v.GenericSchema> = Record<never, v.GenericSchema>,
>(policy: PolicyDefinition<Name, S, Compiled, Shared, Blocks>): PolicyDefinition<Name, S, Compiled, Shared, Blocks> {
  return policy;
}

/** A route's compiled policy: which one, and its JSON. */
export interface CompiledPolicy {
  name: string;
  phase: Phase;
  /** Config path of the block it came from, e.g. `routes[2].jwt` or `defaults.cors`. */
  at: string;
  config: unknown;
}
