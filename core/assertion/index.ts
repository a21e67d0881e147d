/**
 * The gateway assertion: an HMAC-SHA256 header by which an origin proves that a request came
 * through portico (see canonical.ts for the exact algorithm). Origins import
 * `verifyGatewayAssertion` and `createNonceCache` from here; Web APIs only.
 */
export {
  ASSERTION_VERSION,
  assertionSignedText,
  DEFAULT_ASSERTION_HEADER,
  formatAssertionHeader,
  parseAssertionHeader,
} from './canonical.ts';
export type { AssertionParts, ParsedAssertionHeader } from './canonical.ts';
export { importAssertionKey } from './hmac.ts';
export { assertionNonce, signGatewayAssertion } from './sign.ts';
export { createNonceCache } from './nonce-cache.ts';
export type { NonceCache, NonceCacheOptions } from './nonce-cache.ts';
export { verifyGatewayAssertion } from './verify.ts';
export type { AssertedRequest, AssertionFailure, AssertionResult, VerifyGatewayAssertionOptions } from './verify.ts';
