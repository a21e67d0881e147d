/**
 * Every policy, one line each. The route pipeline runs them in phase order (pipeline/policy.ts,
 * PHASES); within a phase, in the order of this list. Adding a policy touches its own folder,
 * one line here, and the docs.
 */
import { apiKeyPolicy } from './api-key/index.ts';
import { cachePolicy } from './cache/index.ts';
import { assertionPolicy } from './assertion/index.ts';
import { requestHeadersPolicy, responseHeadersPolicy } from './headers/index.ts';
import { identityPolicy } from './identity/index.ts';
import { jwtPolicy } from './jwt/index.ts';
import { rewritePolicy } from './rewrite/index.ts';
import { rateLimitPolicy } from './ratelimit/index.ts';
import { corsPolicy } from './cors/index.ts';
import { securityHeadersPolicy } from './security-headers/index.ts';

// assertion stays the last request-phase policy: it signs what the others leave for the origin.
export const POLICIES = [
  rewritePolicy,
  requestHeadersPolicy,
  responseHeadersPolicy,
  corsPolicy,
  securityHeadersPolicy,
  jwtPolicy,
  apiKeyPolicy,
  identityPolicy,
  rateLimitPolicy,
  cachePolicy,
  assertionPolicy,
] as const;

export type AnyPolicy = (typeof POLICIES)[number];
