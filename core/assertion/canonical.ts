/**
 * The gateway assertion, version 1: what is signed and how the header is written. The gateway
 * (core/policies/assertion) and the origin's verifier (verify.ts) both build the signed text
 * here, so they cannot drift apart.
 *
 * Signed text (UTF-8, lines joined by a single "\n", no trailing newline):
 *
 *     portico-assertion-v1
 *     <t: Unix time in seconds, decimal>
 *     <n: the nonce, 16 random bytes in base64url>
 *     <METHOD>
 *     <path and query exactly as sent to the origin, e.g. /v2/users/42?page=2>
 *     <header name 1>:<value 1>
 *     ...
 *
 * one `name:value` line per name listed in `h`, in that order, names in lower case and the value
 * as sent (empty when the header was not sent: so a header added on the way fails the check).
 * Identity header values never hold CR or LF (core/policies/identity), so no line can forge
 * another. The MAC is HMAC-SHA256 keyed with the UTF-8 bytes of the secret.
 *
 * Header: `x-portico-assertion: v1;t=<t>;n=<n>;h=<name,name,...>;sig=<base64url MAC, no padding>`.
 */

/** First line of the signed text, and the version field of the header. */
export const ASSERTION_VERSION = 'v1';
const LABEL = 'portico-assertion-v1';

/** Default header carrying the assertion. */
export const DEFAULT_ASSERTION_HEADER = 'x-portico-assertion';

export interface AssertionParts {
  /** Unix time in seconds. */
  timestamp: number;
  nonce: string;
  method: string;
  /** Path and query as the origin receives them. */
  target: string;
  /** Signed headers: lower-case name and value ("" when not sent), in `h` order. */
  headers: readonly (readonly [name: string, value: string])[];
}

/** The text the MAC is computed over. */
export function assertionSignedText(p: AssertionParts): string {
  let text = `${LABEL}\n${p.timestamp}\n${p.nonce}\n${p.method}\n${p.target}`;
  for (const [name, value] of p.headers) text += `\n${name}:${value}`;
  return text;
}

/** The header value for a computed signature. */
export function formatAssertionHeader(p: AssertionParts, signature: string): string {
  return `${ASSERTION_VERSION};t=${p.timestamp};n=${p.nonce};h=${p.headers.map(([n]) => n).join(',')};sig=${signature}`;
}

export interface ParsedAssertionHeader {
  version: string;
  timestamp: number;
  nonce: string;
  names: string[];
  signature: string;
}

const HEADER_V1 =
  /^v1;t=(\d{1,12});n=([A-Za-z0-9_-]{16,64});h=([!#$%&'*+.^_`|~0-9a-z-]*(?:,[!#$%&'*+.^_`|~0-9a-z-]+)*);sig=([A-Za-z0-9_-]{43})$/;

/**
 * Reads a header value; `'version'` for a version this code does not know, null for anything malformed.
 * Strict: one spelling per assertion, so nothing about it can be changed without the check failing.
 */
export function parseAssertionHeader(value: string): ParsedAssertionHeader | 'version' | null {
  const m = HEADER_V1.exec(value);
  if (!m) return /^v\d+;/.test(value) && !value.startsWith('v1;') ? 'version' : null;
  const names = m[3] === '' ? [] : (m[3] as string).split(',');
  if (new Set(names).size !== names.length) return null;
  return { version: 'v1', timestamp: Number(m[1]), nonce: m[2] as string, names, signature: m[4] as string };
}
