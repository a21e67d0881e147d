/**
 * Every policy, one line each. The route pipeline runs them in phase order (pipeline/policy.ts,
 * PHASES); within a phase, in the order of this list. Adding a policy touches its own folder,
 * one line here, and the docs.
 */
import { requestHeadersPolicy, responseHeadersPolicy } from './headers/index.ts';
import { rewritePolicy } from './rewrite/index.ts';
import { rateLimitPolicy } from './ratelimit/index.ts';

export const POLICIES = [rewritePolicy, requestHeadersPolicy, responseHeadersPolicy, rateLimitPolicy] as const;

export type AnyPolicy = (typeof POLICIES)[number];
