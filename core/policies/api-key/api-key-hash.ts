/**
 * The form of API keys and of their stored hashes, shared by the policy and `portico key`.
 *
 * - A key is `pk_` followed by 32 random bytes in base64url (43 characters): 256 bits of
 *   entropy, so guessing is hopeless and a hash of it cannot be reversed by brute force. The
 *   prefix makes a leaked key easy to recognize (secret scanners, logs, a support ticket).
 * - What is stored is `sha256:` followed by the lower-case hex SHA-256 of the key's UTF-8 bytes
 *   (the whole key, prefix included). Hex rather than base64url: it is what `sha256sum` prints,
 *   so a hash can be checked with tools every machine has.
 */
import { sha256, toBase64Url, toHex } from '../../crypto/index.ts';

/** Prefix of the keys `portico key new` makes. The gateway accepts keys of any form. */
export const API_KEY_PREFIX = 'pk_';

/** `sha256:` and 64 lower-case hex digits. */
export const STORED_HASH = /^sha256:[0-9a-f]{64}$/;

/** Longest key the gateway will hash, in characters; anything longer is refused unread. */
export const MAX_API_KEY_LENGTH = 512;

/** Random bytes in a new key. */
const KEY_BYTES = 32;

/**
 * A new random API key (`pk_` + 43 base64url characters).
 * @example const key = generateApiKey(); // "pk_Jb3…"
 */
export function generateApiKey(): string {
  const bytes = new Uint8Array(KEY_BYTES);
  crypto.getRandomValues(bytes);
  return API_KEY_PREFIX + toBase64Url(bytes);
}

/** The hex SHA-256 of a key (without the `sha256:` label), as the policy looks it up. */
export async function apiKeyDigestHex(key: string): Promise<string> {
  return toHex(await sha256(key));
}

/**
 * The stored form of a key's hash: `sha256:<hex>`.
 * @example await hashApiKey('pk_example') // "sha256:5d0c…"
 */
export async function hashApiKey(key: string): Promise<string> {
  return `sha256:${await apiKeyDigestHex(key)}`;
}
