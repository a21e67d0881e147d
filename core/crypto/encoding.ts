/** Byte encodings used by keys and signatures: lower-case hex, and base64url without padding (RFC 4648 §5). */

const HEX_DIGITS = '0123456789abcdef';

/** Lower-case hex of the bytes. @example toHex(new Uint8Array([255, 1])) // "ff01" */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += (HEX_DIGITS[b >> 4] as string) + (HEX_DIGITS[b & 15] as string);
  return out;
}

/** Bytes of an even-length hex string (either case); null when it is not one. */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** base64url without padding. @example toBase64Url(new Uint8Array([251, 255])) // "-_8" */
export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Bytes of a base64url string without padding; null for anything else (padding, whitespace,
 * the `+ /` alphabet, a length no encoder produces). Strict on purpose: a lenient decoder lets
 * several spellings stand for one signature.
 */
export function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  let raw: string;
  try {
    raw = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  } catch {
    return null;
  }
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  // Non-canonical spellings (unused bits set in the last character) decode to the same bytes: refuse them.
  return toBase64Url(out) === text ? out : null;
}
