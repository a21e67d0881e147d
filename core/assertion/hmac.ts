/** HMAC-SHA256 through WebCrypto, for the assertion's signer and verifier. */
import { toBase64Url } from '../crypto/index.ts';

const encoder = new TextEncoder();

/** Imports a secret (its UTF-8 bytes) as an HMAC-SHA256 key, once per secret. */
export function importAssertionKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** The MAC of `text`, as raw bytes. */
export async function hmacBytes(key: CryptoKey, text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(text)));
}

/** The MAC of `text`, in base64url without padding. */
export async function hmacBase64Url(key: CryptoKey, text: string): Promise<string> {
  return toBase64Url(await hmacBytes(key, text));
}
