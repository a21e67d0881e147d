/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent` parsed and written,
 * `tracestate` kept as it came (bounded). Ids are lower-case hex, made from crypto.getRandomValues.
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

/**
 * Ids are random bytes written as lower-case hex, made without a string per byte:
 * - the bytes come from a pool filled 4 KiB at a time (one crypto.getRandomValues call costs
 *   about 6 µs on Node 20 whatever its size, and a request needs two or three ids);
 * - each byte's two hex digits are char codes from a table, and one String.fromCharCode call
 *   with every code as an argument makes the id as one flat string. Appending two-digit strings
 *   instead built a chain of cons strings per id: a request's trace id, upstream span id and
 *   traceparent took about 1.5 µs of CPU that way, 0.7 µs this way (Node 20, measured here; the
 *   server span id, made only when a span is exported, is no longer among them).
 * An id whose bytes are all zero (invalid in W3C trace context; 2^-64 likely for a span id) is
 * drawn again.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

/** Hex digit char codes: byte b's digits are at [2b] and [2b + 1]. */
const DIGITS = new Uint16Array(512);
for (let b = 0; b < 256; b++) {
  const h = b.toString(16).padStart(2, '0');
  DIGITS[2 * b] = h.charCodeAt(0);
  DIGITS[2 * b + 1] = h.charCodeAt(1);
}
const chars = String.fromCharCode;

/** Where `bytes` fresh random bytes start in `pool` (refilled when it has too few left). */
function take(bytes: number): number {
  if (used + bytes > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  const at = used;
  used += bytes;
  return at;
}

/** A new trace id: 16 random bytes, not all zero, as 32 hex digits (the trace id of a new traceparent). */
export function newTraceId(): string {
  return traceIdOf(newTraceParent(false));
}

/**
 * A new span id: 8 random bytes, not all zero, as 16 hex digits: the span id of a new traceparent,
 * so that ids are made by one function. Its trace id is drawn and dropped; a request makes a span
 * id this way only for a trusted caller's trace and for exported spans.
 */
export function newSpanId(): string {
  return spanIdOf(newTraceParent(false));
}

/**
 * The traceparent of a new trace, `00-<trace id>-<span id>-<flags>`, as one flat string from one
 * String.fromCharCode call: the trace id and the span id are slices of it (traceIdOf, spanIdOf).
 * Made apart and joined, the three were two calls, a chain of cons strings, and a copy when the
 * header was written: in a loop on Node 24 here (a busy machine), 380–430 ns against 240–345 ns.
 */
export function newTraceParent(sampled: boolean): string {
  let at = take(24);
  // Each id must have a byte that is not zero: drawn again otherwise.
  while (!nonZero(pool, at, 16) || !nonZero(pool, at + 16, 8)) at = take(24);
  const p = pool;
  const d = DIGITS;
  const b0 = (p[at] as number) << 1;
  const b1 = (p[at + 1] as number) << 1;
  const b2 = (p[at + 2] as number) << 1;
  const b3 = (p[at + 3] as number) << 1;
  const b4 = (p[at + 4] as number) << 1;
  const b5 = (p[at + 5] as number) << 1;
  const b6 = (p[at + 6] as number) << 1;
  const b7 = (p[at + 7] as number) << 1;
  const b8 = (p[at + 8] as number) << 1;
  const b9 = (p[at + 9] as number) << 1;
  const b10 = (p[at + 10] as number) << 1;
  const b11 = (p[at + 11] as number) << 1;
  const b12 = (p[at + 12] as number) << 1;
  const b13 = (p[at + 13] as number) << 1;
  const b14 = (p[at + 14] as number) << 1;
  const b15 = (p[at + 15] as number) << 1;
  const b16 = (p[at + 16] as number) << 1;
  const b17 = (p[at + 17] as number) << 1;
  const b18 = (p[at + 18] as number) << 1;
  const b19 = (p[at + 19] as number) << 1;
  const b20 = (p[at + 20] as number) << 1;
  const b21 = (p[at + 21] as number) << 1;
  const b22 = (p[at + 22] as number) << 1;
  const b23 = (p[at + 23] as number) << 1;
  return chars(
    0x30,
    0x30,
    0x2d,
    d[b0] as number,
    d[b0 + 1] as number,
    d[b1] as number,
    d[b1 + 1] as number,
    d[b2] as number,
    d[b2 + 1] as number,
    d[b3] as number,
    d[b3 + 1] as number,
    d[b4] as number,
    d[b4 + 1] as number,
    d[b5] as number,
    d[b5 + 1] as number,
    d[b6] as number,
    d[b6 + 1] as number,
    d[b7] as number,
    d[b7 + 1] as number,
    d[b8] as number,
    d[b8 + 1] as number,
    d[b9] as number,
    d[b9 + 1] as number,
    d[b10] as number,
    d[b10 + 1] as number,
    d[b11] as number,
    d[b11 + 1] as number,
    d[b12] as number,
    d[b12 + 1] as number,
    d[b13] as number,
    d[b13 + 1] as number,
    d[b14] as number,
    d[b14 + 1] as number,
    d[b15] as number,
    d[b15 + 1] as number,
    0x2d,
    d[b16] as number,
    d[b16 + 1] as number,
    d[b17] as number,
    d[b17 + 1] as number,
    d[b18] as number,
    d[b18 + 1] as number,
    d[b19] as number,
    d[b19 + 1] as number,
    d[b20] as number,
    d[b20 + 1] as number,
    d[b21] as number,
    d[b21 + 1] as number,
    d[b22] as number,
    d[b22 + 1] as number,
    d[b23] as number,
    d[b23 + 1] as number,
    0x2d,
    0x30,
    sampled ? 0x31 : 0x30,
  );
}

/** The trace id of a traceparent from newTraceParent. */
export function traceIdOf(traceParent: string): string {
  return traceParent.slice(3, 35);
}

/** The span id of a traceparent from newTraceParent. */
export function spanIdOf(traceParent: string): string {
  return traceParent.slice(36, 52);
}

function nonZero(p: Uint8Array, at: number, n: number): boolean {
  let any = 0;
  for (let i = at; i < at + n; i++) any |= p[i] as number;
  return any !== 0;
}
