/**
 * IP addresses and CIDR ranges, for deciding which proxies' X-Forwarded-For entries to believe.
 * Addresses are handled as 128-bit values (IPv4 as IPv4-mapped IPv6, RFC 4291 §2.5.5.2) so one
 * comparison serves both families.
 */

/** A parsed range: the first 16 bytes of the network and the prefix length in bits (0–128). */
export interface CidrRange {
  bytes: Uint8Array;
  bits: number;
  /** As written, for messages. */
  text: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parseIpv4(text: string, out: Uint8Array, offset: number): boolean {
  if (!IPV4.test(text)) return false;
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[offset + i] = Number(parts[i]);
  return true;
}

/**
 * Parses an IPv4 or IPv6 address (brackets and a zone id are tolerated) into 16 bytes.
 * @returns the bytes, or null when `text` is not an address.
 */
export function parseIp(text: string): Uint8Array | null {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const out = new Uint8Array(16);
  if (!s.includes(':')) {
    out[10] = 0xff;
    out[11] = 0xff;
    return parseIpv4(s, out, 12) ? out : null;
  }
  // IPv6: up to 8 groups, one "::", optionally ending in an IPv4 dotted quad.
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  const words: number[] = [];
  const pushGroups = (groups: string[], into: number[]): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] ?? '';
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4(g, v4, 0)) return false;
        into.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
        into.push(parseInt(g, 16));
      }
    }
    return true;
  };
  const tailWords: number[] = [];
  if (!pushGroups(head, words) || !pushGroups(tail, tailWords)) return null;
  if (halves.length === 2) {
    const missing = 8 - words.length - tailWords.length;
    if (missing < 1) return null;
    for (let i = 0; i < missing; i++) words.push(0);
  }
  words.push(...tailWords);
  if (words.length !== 8) return null;
  for (let i = 0; i < 8; i++) {
    out[i * 2] = (words[i] ?? 0) >> 8;
    out[i * 2 + 1] = (words[i] ?? 0) & 0xff;
  }
  return out;
}

/** Parses `10.0.0.0/8`, `::1`, `fd00::/8` or a bare address (a /32 or /128). */
export function parseCidr(text: string): CidrRange | null {
  const slash = text.indexOf('/');
  const addr = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return null;
  const isV4 = !text.slice(0, slash < 0 ? undefined : slash).includes(':');
  let bits = isV4 ? 32 : 128;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return null;
    bits = Number(b);
    if (bits > (isV4 ? 32 : 128)) return null;
  }
  return { bytes: addr, bits: isV4 ? bits + 96 : bits, text };
}

/** True when `ip` (16 bytes from parseIp) lies inside `range`. */
export function cidrContains(range: CidrRange, ip: Uint8Array): boolean {
  let bits = range.bits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((range.bytes[i] ?? 0) & mask) !== ((ip[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** Formats 16 bytes back to text: dotted quad for IPv4-mapped addresses, RFC 5952 otherwise. */
export function formatIp(ip: Uint8Array): string {
  let mapped = ip[10] === 0xff && ip[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (ip[i] !== 0) mapped = false;
  if (mapped) return `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((ip[i * 2] ?? 0) << 8) | (ip[i * 2 + 1] ?? 0));
  // Longest run of zero words (length >= 2) becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (w: number[]) => w.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}
