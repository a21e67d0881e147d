// Per-instance JS-side state of a hot-path module: typed views of its memory (rebuilt when
// memory grows and the buffer changes) and the reused scratch areas that strings are encoded
// into. Private to core/hot.
import { PorticoError } from '../errors.ts';
import type { HotExports } from './types.ts';

const INITIAL_SCRATCH_BYTES = 4096;
const INITIAL_HOST_BYTES = 256;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;
/** Readable bytes after the scratch: the matcher hashes 4 bytes at a time. */
const SCRATCH_SLACK = 8;
/**
 * Strings up to this many code units are copied with a charCodeAt loop instead of encodeInto.
 * encodeInto is a call into the embedder (about 40 ns on Node 20 whatever the length), and a
 * charCodeAt loop costs under 1 ns a unit on a flat string and about 2 ns on a slice of a
 * longer one (V8 makes a slice of 13 units or more a view of its parent); below 16 units the
 * loop wins either way (bench/README.md, "copying strings in").
 */
export const SHORT_STRING_UNITS = 16;

export interface HotState {
  readonly hot: HotExports;
  /**
   * True for a real WebAssembly.Memory: growing it detaches the old buffer, so an empty view
   * says "refresh". Reading WebAssembly.Memory#buffer costs ~15 ns per call in V8, which is
   * why the wrappers check `strView.length` instead. Other memories (wasm2js, twin) keep the
   * old buffer alive when they grow, so for them the (cheap, plain JS) getter is compared.
   */
  readonly detaches: boolean;
  buffer: ArrayBuffer;
  u8: Uint8Array;
  u32: Uint32Array;
  f64: Float64Array;
  /**
   * The string scratch, one block: `hostCap` bytes for the host, written right-aligned so that
   * it ends at `strPtr`, then `strCap` bytes for paths and keys from `strPtr`. The request step
   * hashes host and path as one run of bytes, and an unchanged host is not written again.
   */
  strPtr: number;
  strCap: number;
  strView: Uint8Array;
  hostCap: number;
  hostView: Uint8Array;
  /** The host whose bytes end at `strPtr`, and their UTF-8 length. */
  lastHost: string | undefined;
  lastHostLen: number;
  /**
   * The matcher whose last successful match is what the param output area holds. Another
   * matcher about to match first asks it to copy its params out (see HotMatcher).
   */
  paramsOwner: { saveParams(): void } | undefined;
  paramsPtr: number;
  hashOutPtr: number;
  bucketOutPtr: number;
}

const states = new WeakMap<HotExports, HotState>();
export const utf8 = new TextEncoder();

/** The module's linear memory cannot grow for a table or scratch area (not a per-request condition). */
export class HotMemoryError extends PorticoError {
  constructor(message: string) {
    super('ERR_HOT_MEMORY', message);
  }
}

/** Reserves memory in the module, or throws: out of memory is not a per-request condition. */
export function reserveOrThrow(hot: HotExports, bytes: number): number {
  const ptr = hot.reserve(bytes) >>> 0;
  if (ptr === 0) throw new HotMemoryError(`hot path: cannot reserve ${bytes} bytes of linear memory`);
  // Memory may have grown: keep the views of an existing state valid.
  const st = states.get(hot);
  if (st && st.hot.memory.buffer !== st.buffer) refreshViews(st);
  return ptr;
}

export function hotState(hot: HotExports): HotState {
  let st = states.get(hot);
  if (st) return freshState(st);
  const strPtr = reserveOrThrow(hot, INITIAL_HOST_BYTES + INITIAL_SCRATCH_BYTES + SCRATCH_SLACK) + INITIAL_HOST_BYTES;
  const buffer = hot.memory.buffer;
  const detaches = typeof WebAssembly !== 'undefined' && hot.memory instanceof WebAssembly.Memory;
  st = {
    hot,
    detaches,
    buffer,
    u8: new Uint8Array(buffer),
    u32: new Uint32Array(buffer),
    f64: new Float64Array(buffer),
    strPtr,
    strCap: INITIAL_SCRATCH_BYTES,
    strView: new Uint8Array(buffer, strPtr, INITIAL_SCRATCH_BYTES),
    hostCap: INITIAL_HOST_BYTES,
    hostView: new Uint8Array(buffer, strPtr - INITIAL_HOST_BYTES, INITIAL_HOST_BYTES),
    lastHost: undefined,
    lastHostLen: 0,
    paramsOwner: undefined,
    paramsPtr: hot.paramsPtr() >>> 0,
    hashOutPtr: hot.hashOutPtr() >>> 0,
    bucketOutPtr: hot.bucketOutPtr() >>> 0,
  };
  states.set(hot, st);
  return st;
}

/** The state of `hot` with fresh views: the per-call check of the wrappers. */
export function freshState(st: HotState): HotState {
  if (st.detaches ? st.strView.length === 0 : st.hot.memory.buffer !== st.buffer) refreshViews(st);
  return st;
}

export function refreshViews(st: HotState): void {
  const buffer = st.hot.memory.buffer;
  st.buffer = buffer;
  st.u8 = new Uint8Array(buffer);
  st.u32 = new Uint32Array(buffer);
  st.f64 = new Float64Array(buffer);
  st.strView = new Uint8Array(buffer, st.strPtr, st.strCap);
  st.hostView = new Uint8Array(buffer, st.strPtr - st.hostCap, st.hostCap);
}

const roundUp16 = (n: number): number => (n + 15) & ~15;

/**
 * Moves the scratch to a new block holding at least `hostUnits` code units of host and
 * `strUnits` of path as UTF-8. The host bytes are not carried over.
 */
function growScratch(st: HotState, hostUnits: number, strUnits: number): void {
  const hostNeed = hostUnits * MAX_UTF8_PER_UNIT;
  const strNeed = strUnits * MAX_UTF8_PER_UNIT;
  // Multiples of 16 keep strPtr aligned for the word copies.
  const hostCap = hostNeed <= st.hostCap ? st.hostCap : roundUp16(Math.max(hostNeed, st.hostCap * 2));
  const strCap = strNeed <= st.strCap ? st.strCap : roundUp16(Math.max(strNeed, st.strCap * 2));
  // Reserving may grow memory and refresh the views of the old block: assign afterwards.
  const base = reserveOrThrow(st.hot, hostCap + strCap + SCRATCH_SLACK);
  st.hostCap = hostCap;
  st.strCap = strCap;
  st.strPtr = base + hostCap;
  st.lastHost = undefined;
  refreshViews(st);
}

/** Makes the string scratch hold at least `units` UTF-16 code units' worth of UTF-8. */
export function growStrScratch(st: HotState, units: number): void {
  growScratch(st, 0, units);
}

/**
 * Copies `s` to `at` with charCodeAt, a 32-bit word per 4 units (`at` is 4-aligned; up to 3
 * bytes past the end are overwritten, which the slack allows). False, with garbage written,
 * when `s` is not ASCII.
 */
function copyAscii(st: HotState, at: number, s: string, n: number): boolean {
  const u32 = st.u32;
  let w = at >>> 2;
  let seen = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const c = s.charCodeAt(i + 2);
    const d = s.charCodeAt(i + 3);
    seen |= a | b | c | d;
    u32[w++] = a | (b << 8) | (c << 16) | (d << 24);
  }
  if (i < n) {
    let tail = 0;
    for (let shift = 0; i < n; i++, shift += 8) {
      const c = s.charCodeAt(i);
      seen |= c;
      tail |= c << shift;
    }
    u32[w] = tail;
  }
  return seen < 0x80;
}

/** Hosts up to this long are copied byte by byte (a host is written only when it changes). */
const SHORT_HOST_UNITS = 64;

/** Copies `s` to `at` with charCodeAt, a byte per unit. False when `s` is not ASCII. */
function copyAsciiBytes(u8: Uint8Array, at: number, s: string, n: number): boolean {
  let seen = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    seen |= c;
    u8[at + i] = c;
  }
  return seen < 0x80;
}

/** Writes `s` as UTF-8 at `strPtr` (the string scratch); returns its UTF-8 length. */
export function writeStr(st: HotState, s: string): number {
  const n = s.length;
  if (n <= SHORT_STRING_UNITS && copyAscii(st, st.strPtr, s, n)) return n;
  let r = utf8.encodeInto(s, st.strView);
  if (r.read !== n) {
    growStrScratch(st, n);
    r = utf8.encodeInto(s, st.strView);
  }
  return r.written;
}

/**
 * Writes `host` as UTF-8 so that it ends at `strPtr`, unless it is there already (a string
 * compare: cheap on the flat strings that servers make of header values); returns its UTF-8
 * length. The host starts at `strPtr - length`.
 */
export function writeHost(st: HotState, host: string): number {
  return host === st.lastHost ? st.lastHostLen : writeNewHost(st, host);
}

/**
 * The write of writeHost, apart so that the common case (the same host again) stays small where
 * V8 inlines it: a multi-host table sees new hosts often, and with this code inline the
 * wrapper's same-host calls measured 15–25 ns slower.
 */
function writeNewHost(st: HotState, host: string): number {
  const n = host.length;
  if (n * MAX_UTF8_PER_UNIT > st.hostCap) growScratch(st, n, 0);
  let written: number;
  // Right-aligned: a short ASCII host is copied straight to its place; otherwise it is encoded
  // at the start of the host area and moved up.
  if (n <= SHORT_HOST_UNITS && copyAsciiBytes(st.u8, st.strPtr - n, host, n)) {
    written = n;
  } else {
    written = utf8.encodeInto(host, st.hostView).written;
    const from = st.strPtr - st.hostCap;
    const to = st.strPtr - written;
    if (to !== from) st.u8.copyWithin(to, from, from + written);
  }
  st.lastHost = host;
  st.lastHostLen = written;
  return written;
}
