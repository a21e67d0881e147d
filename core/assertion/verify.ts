/**
 * The origin's side of the gateway assertion: proof that a request came through portico, with
 * the identity headers portico set. Web APIs only, so it runs in any origin written in TypeScript
 * or JavaScript (Node, Deno, Bun, Workers...).
 */
import { fromBase64Url, timingSafeEqual } from '../crypto/index.ts';
import { type AssertionParts, assertionSignedText, DEFAULT_ASSERTION_HEADER, parseAssertionHeader } from './canonical.ts';
import { hmacBytes, importAssertionKey } from './hmac.ts';
import type { NonceCache } from './nonce-cache.ts';

/** A request as an origin has it: a `Request`, or any `{ method, url, headers }` (Node's IncomingMessage fits). */
export type AssertedRequest =
  | Request
  | {
      method?: string | undefined;
      /** Absolute URL, or the request-target as received (`/path?query`). */
      url?: string | undefined;
      headers: Headers | Record<string, string | string[] | undefined>;
    };

export interface VerifyGatewayAssertionOptions {
  /** The shared secret; several during a rotation (any one may have signed). */
  secret: string | readonly string[];
  /** Oldest assertion accepted, in seconds, default 60. */
  maxAgeSeconds?: number;
  /** How far in the future a timestamp may be (clocks differ), in seconds, default 5. */
  clockSkewSeconds?: number;
  /** Header carrying the assertion, default `x-portico-assertion`. */
  header?: string;
  /** Refuses a replay inside the window too (see createNonceCache). Default: none. */
  nonces?: NonceCache;
  /** Headers the signature must cover, e.g. `['x-portico-consumer']`: refused when one is not signed. */
  requireSigned?: readonly string[];
  /** Milliseconds since the epoch, default Date.now. */
  now?: () => number;
}

export type AssertionFailure =
  /** No assertion header. */
  | 'missing'
  /** Not a well-formed assertion. */
  | 'malformed'
  /** An assertion version this helper does not know. */
  | 'version'
  /** Older than maxAgeSeconds. */
  | 'expired'
  /** Timestamp further ahead than clockSkewSeconds. */
  | 'future'
  /** A header in `requireSigned` is not covered. */
  | 'unsigned-header'
  /** The MAC does not match: the method, path, query, a signed header or the time was changed, or another secret signed it. */
  | 'signature'
  /** Seen before (with `nonces`). */
  | 'replayed';

export type AssertionResult =
  | {
      ok: true;
      /** When the gateway signed, in Unix seconds. */
      timestamp: number;
      nonce: string;
      /** The signed headers the request carries, by lower-case name: the ones to trust. */
      headers: Record<string, string>;
    }
  | { ok: false; reason: AssertionFailure };

const keyCache = new Map<string, Promise<CryptoKey>>();

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = importAssertionKey(secret);
    // Bounded: a verifier has a handful of secrets; never grow without end.
    if (keyCache.size >= 16) keyCache.clear();
    keyCache.set(secret, key);
  }
  return key;
}

function headerOf(request: AssertedRequest, name: string): string | null {
  const h = request.headers;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name);
  const value = (h as Record<string, string | string[] | undefined>)[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The path and query as received: the raw request-target when given, else from the absolute URL. */
function targetOf(request: AssertedRequest): string | null {
  const url = request.url;
  if (url === undefined) return null;
  if (url.startsWith('/')) return url;
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return null;
  }
}

/**
 * Checks the gateway assertion of a request. Never throws for a bad assertion: the result says why.
 * Trust only the headers in `result.headers`; the others are whatever the connection carried.
 * @example
 * const nonces = createNonceCache();
 * const result = await verifyGatewayAssertion(request, { secret: env.PORTICO_ASSERTION_SECRET, maxAgeSeconds: 30, nonces });
 * if (!result.ok) return new Response('forbidden', { status: 403 });
 * const consumer = result.headers['x-portico-consumer'];
 */
export async function verifyGatewayAssertion(
  request: AssertedRequest,
  options: VerifyGatewayAssertionOptions,
): Promise<AssertionResult> {
  const value = headerOf(request, (options.header ?? DEFAULT_ASSERTION_HEADER).toLowerCase());
  if (value === null || value === '') return { ok: false, reason: 'missing' };
  const parsed = parseAssertionHeader(value);
  if (parsed === 'version') return { ok: false, reason: 'version' };
  if (parsed === null) return { ok: false, reason: 'malformed' };
  const signature = fromBase64Url(parsed.signature);
  const target = targetOf(request);
  if (signature === null || target === null) return { ok: false, reason: 'malformed' };

  const nowMs = (options.now ?? Date.now)();
  const nowSeconds = Math.floor(nowMs / 1000);
  const maxAge = options.maxAgeSeconds ?? 60;
  if (parsed.timestamp > nowSeconds + (options.clockSkewSeconds ?? 5)) return { ok: false, reason: 'future' };
  if (nowSeconds - parsed.timestamp > maxAge) return { ok: false, reason: 'expired' };
  for (const name of options.requireSigned ?? []) {
    if (!parsed.names.includes(name.toLowerCase())) return { ok: false, reason: 'unsigned-header' };
  }

  const headers: [string, string][] = parsed.names.map((name) => [name, headerOf(request, name) ?? '']);
  const parts: AssertionParts = {
    timestamp: parsed.timestamp,
    nonce: parsed.nonce,
    method: request.method ?? 'GET',
    target,
    headers,
  };
  const text = assertionSignedText(parts);
  const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret;
  let valid = false;
  for (const secret of secrets) {
    // Every secret is tried (no early exit), and the MACs are compared in constant time.
    if (timingSafeEqual(await hmacBytes(await keyFor(secret), text), signature)) valid = true;
  }
  if (!valid) return { ok: false, reason: 'signature' };
  if (options.nonces && !options.nonces.remember(parsed.nonce, (parsed.timestamp + maxAge + 1) * 1000, nowMs)) {
    return { ok: false, reason: 'replayed' };
  }
  const trusted: Record<string, string> = {};
  for (const [name, v] of headers) if (v !== '') trusted[name] = v;
  return { ok: true, timestamp: parsed.timestamp, nonce: parsed.nonce, headers: trusted };
}
