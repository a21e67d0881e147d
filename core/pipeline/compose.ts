/**
 * Builds a route's handler from its compiled policies, once per route at startup: the policies in
 * pipeline order around the upstream step, onion style (each gets `next`, the rest of the chain).
 * A route without policies is the upstream step itself: no extra work per request.
 */
import type { CompiledRoute } from '../config/compile.ts';
import { POLICIES } from '../policies/index.ts';
import type { Exchange, PolicyDefinition, PolicyHandler, PolicyRuntime } from './policy.ts';

export type RouteHandler = (exchange: Exchange) => Promise<Response>;

type AnyDefinition = PolicyDefinition<string, never, unknown, unknown>;

const BY_NAME = new Map<string, AnyDefinition>(POLICIES.map((p) => [p.name, p as unknown as AnyDefinition]));

/** Runs every policy's `init` once per gateway; the results are handed to `create` and `endpoints`. */
export async function initPolicies(runtime: PolicyRuntime): Promise<Map<string, unknown>> {
  const shared = new Map<string, unknown>();
  for (const policy of BY_NAME.values()) shared.set(policy.name, policy.init ? await policy.init(runtime) : undefined);
  return shared;
}

export function policyDefinition(name: string): AnyDefinition | undefined {
  return BY_NAME.get(name);
}

/** The route's handler: its policies wrapped around `upstream`. */
export async function composeRoute(
  route: CompiledRoute,
  runtime: PolicyRuntime,
  shared: Map<string, unknown>,
  upstream: RouteHandler,
  /** Wraps each policy's handler (the observer times the auth, rate-limit and cache phases). */
  wrap?: (name: string, phase: string, handler: PolicyHandler) => PolicyHandler,
): Promise<RouteHandler> {
  const handlers: PolicyHandler[] = [];
  for (const compiled of route.policies) {
    const policy = BY_NAME.get(compiled.name);
    if (!policy) throw new Error(`route "${route.id}": unknown policy "${compiled.name}" in the compiled config`);
    const created = await policy.create(compiled.config, runtime, shared.get(policy.name), compiled.at);
    handlers.push(wrap ? wrap(compiled.name, compiled.phase, created) : created);
  }
  let handler = upstream;
  for (let i = handlers.length - 1; i >= 0; i--) {
    const policy = handlers[i] as PolicyHandler;
    const next = handler;
    handler = (exchange) => policy(exchange, () => next(exchange));
  }
  return handler;
}
