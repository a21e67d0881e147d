/** Making an assertion (the gateway side; verify.ts is the origin side). */
import { toBase64Url } from '../crypto/index.ts';
import { type AssertionParts, assertionSignedText, formatAssertionHeader } from './canonical.ts';
import { hmacBase64Url } from './hmac.ts';

/** A fresh nonce: 16 random bytes, base64url (22 characters). */
export function assertionNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return toBase64Url(bytes);
}

/**
 * The assertion header value for one request.
 * @example
 * const key = await importAssertionKey(secret);
 * const value = await signGatewayAssertion(key, { timestamp: 1764620000, nonce: assertionNonce(), method: 'GET', target: '/x', headers: [] });
 */
export async function signGatewayAssertion(key: CryptoKey, parts: AssertionParts): Promise<string> {
  return formatAssertionHeader(parts, await hmacBase64Url(key, assertionSignedText(parts)));
}
