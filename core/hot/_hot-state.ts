// Per-instance JS-side state of a hot-path module: typed views of its memory (rebuilt when
// memory grows and the buffer changes) and the reused scratch areas that strings are encoded
// into. Private to core/hot.
import type { HotExports } from './types.ts';

const INITIAL_SCRATCH_BYTES = 4096;
const INITIAL_HOST_BYTES = 256;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;
/** Readable bytes after each scratch area: the matcher hashes 4 bytes at a time. */
const SCRATCH_SLACK = 8;

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
  /** Scratch for paths and keys. */
  strPtr: number;
  strCap: number;
  strView: Uint8Array;
  /** Scratch for hosts, separate so an unchanged host need not be written again. */
  hostPtr: number;
  hostCap: number;
  hostView: Uint8Array;
  /** The host whose bytes sit in the host scratch, and their length. */
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

export class HotMemoryError extends Error {
  override name = 'HotMemoryError';
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
  const strPtr = reserveOrThrow(hot, INITIAL_SCRATCH_BYTES + SCRATCH_SLACK);
  const hostPtr = reserveOrThrow(hot, INITIAL_HOST_BYTES + SCRATCH_SLACK);
  const buffer = hot.memory.buffer;
  const detaches = typeof WebAssembly !== 'undefined' && hot.memory instanceof WebAssembly.Memory;
  st = {
    hot, detaches, buffer,
    u8: new Uint8Array(buffer), u32: new Uint32Array(buffer), f64: new Float64Array(buffer),
    strPtr, strCap: INITIAL_SCRATCH_BYTES, strView: new Uint8Array(buffer, strPtr, INITIAL_SCRATCH_BYTES),
    hostPtr, hostCap: INITIAL_HOST_BYTES, hostView: new Uint8Array(buffer, hostPtr, INITIAL_HOST_BYTES),
    lastHost: undefined, lastHostLen: 0, paramsOwner: undefined,
    paramsPtr: hot.paramsPtr() >>> 0, hashOutPtr: hot.hashOutPtr() >>> 0, bucketOutPtr: hot.bucketOutPtr() >>> 0,
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
  st.hostView = new Uint8Array(buffer, st.hostPtr, st.hostCap);
}

/** Makes the string scratch hold at least `units` UTF-16 code units' worth of UTF-8. */
export function growStrScratch(st: HotState, units: number): void {
  const cap = Math.max(st.strCap * 2, units * MAX_UTF8_PER_UNIT);
  st.strPtr = reserveOrThrow(st.hot, cap + SCRATCH_SLACK);
  st.strCap = cap;
  refreshViews(st);
}

export function growHostScratch(st: HotState, units: number): void {
  const cap = Math.max(st.hostCap * 2, units * MAX_UTF8_PER_UNIT);
  st.hostPtr = reserveOrThrow(st.hot, cap + SCRATCH_SLACK);
  st.hostCap = cap;
  st.lastHost = undefined;
  refreshViews(st);
}

/** Encodes `s` into the string scratch; returns its UTF-8 length. */
export function writeStr(st: HotState, s: string): number {
  let r = utf8.encodeInto(s, st.strView);
  if (r.read !== s.length) {
    growStrScratch(st, s.length);
    r = utf8.encodeInto(s, st.strView);
  }
  return r.written;
}

/** Encodes `host` into the host scratch unless it is already there; returns its UTF-8 length. */
export function writeHost(st: HotState, host: string): number {
  if (host === st.lastHost) return st.lastHostLen;
  let r = utf8.encodeInto(host, st.hostView);
  if (r.read !== host.length) {
    growHostScratch(st, host.length);
    r = utf8.encodeInto(host, st.hostView);
  }
  st.lastHost = host;
  st.lastHostLen = r.written;
  return r.written;
}
