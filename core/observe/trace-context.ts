/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent` parsed and written,
 * `tracestate` kept as it came (bounded). Ids are lower-case hex, made with crypto.getRandomValues.
 */

export interface TraceParent {
  /** 32 hex digits, not all zero. */
  traceId: string;
  /** 16 hex digits, not all zero: the caller's span. */
  parentId: string;
  /** Whether the caller sampled (flag 01). */
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/**
 * Parses a `traceparent` header; null when it is absent or not valid (then a new trace starts).
 * Version 00 must have exactly four fields; a later version may add fields (§3.2.4.1), version
 * ff is invalid.
 * @example parseTraceParent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
 */
export function parseTraceParent(header: string | null): TraceParent | null {
  if (header === null || header.length > 512) return null;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return null;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string?];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return null;
  return { traceId, parentId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** `tracestate` as it came, when it looks like one (list members, at most 32, 512 characters). */
export function cleanTraceState(header: string | null): string | null {
  if (header === null) return null;
  const t = header.trim();
  if (t === '' || t.length > 512) return null;
  const members = t
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  if (members.length > 32) return null;
  for (const m of members)
    if (!/^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/.test(m)) return null;
  return members.join(',');
}

export function formatTraceParent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Random bytes come from a pool filled 4 KiB at a time: one crypto.getRandomValues call costs
 * about 6 µs on Node 20 whatever its size, and a request needs three ids.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  let out = '';
  for (let i = 0; i < bytes; i++) out += HEX[pool[used++] as number];
  return out;
}

/** A new trace id (16 random bytes; all zero is invalid, and 2^-128 likely). */
export function newTraceId(): string {
  const id = randomHex(16);
  return id === ZERO_TRACE ? newTraceId() : id;
}

/** A new span id (8 random bytes). */
export function newSpanId(): string {
  const id = randomHex(8);
  return id === ZERO_SPAN ? newSpanId() : id;
}
