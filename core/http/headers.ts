/**
 * Header handling between client and origin: hop-by-hop removal (RFC 9110 §7.6.1), the
 * X-Forwarded-* family under a trusted-proxies policy, and request ids.
 */
import { cidrContains, formatIp, parseIp, type CidrRange } from './ip.ts';

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1, RFC 9112 §9.6). */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Removes hop-by-hop headers in place, including every header the Connection header names.
 */
export function removeHopByHop(headers: Headers): void {
  const connection = headers.get('connection');
  if (connection) {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) headers.delete(name);
    }
  }
  for (const name of HOP_BY_HOP_HEADERS) headers.delete(name);
}

/** Who the client is, after X-Forwarded-For has been weighed against the trusted proxies. */
export interface ClientInfo {
  /** The client address: the rightmost untrusted address of the chain. */
  address: string;
  /** The chain to forward in X-Forwarded-For: believed entries, then the peer. */
  forwardedFor: string;
  /** Whether the peer is a trusted proxy (so its X-Forwarded-Proto/Host are believed). */
  peerTrusted: boolean;
}

function isTrusted(ranges: readonly CidrRange[], ip: Uint8Array | null): boolean {
  if (!ip) return false;
  for (const r of ranges) if (cidrContains(r, ip)) return true;
  return false;
}

/**
 * Works out the client behind a chain of proxies. Walking X-Forwarded-For from the right, every
 * address that belongs to a trusted proxy is skipped; the first one that does not is the client.
 * Entries to the left of the client were written by the client itself, so they are dropped rather
 * than forwarded: an origin that reads the leftmost entry cannot be fooled.
 *
 * @param peer the TCP peer's address ("" when the runtime does not tell us)
 * @example resolveClient('10.0.0.2', '203.0.113.7, 10.0.0.9', ranges) // address 203.0.113.7
 */
export function resolveClient(peer: string, xff: string | null, ranges: readonly CidrRange[]): ClientInfo {
  const peerIp = parseIp(peer);
  const peerText = peerIp ? formatIp(peerIp) : peer;
  if (!isTrusted(ranges, peerIp)) {
    return { address: peerText, forwardedFor: peerText, peerTrusted: false };
  }
  const hops = (xff ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const kept: string[] = [peerText];
  let client = peerText;
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = parseIp(hops[i] ?? '');
    // A malformed entry cannot be believed: stop, and the last good hop is the client.
    if (!ip) break;
    const text = formatIp(ip);
    kept.unshift(text);
    client = text;
    if (!isTrusted(ranges, ip)) break;
  }
  return { address: client, forwardedFor: kept.join(', '), peerTrusted: true };
}

/** Request ids we pass on unchanged: short, and safe in logs and headers. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The incoming X-Request-ID if it is well-formed, else a fresh UUID. */
export function requestIdFrom(headers: Headers): string {
  const given = headers.get('x-request-id');
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}
