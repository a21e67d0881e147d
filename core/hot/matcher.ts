/**
 * The route matcher: a compiled route table loaded into a hot-path module, and the JS side of
 * each match (encode the path, call matchRoute, copy the param offsets out).
 *
 * @example
 * const matcher = createMatcher(hot, compileRouteTable(entries));
 * const i = matcher.match(METHOD_BITS.GET, 'api.example.com', '/users/42', 0);
 * if (i >= 0) path.slice(matcher.paramStart(0), matcher.paramEnd(0)); // '42'
 */
import { PorticoError } from '../errors.ts';
import { STATUS_NOT_COPIED, type HotExports, type Matcher } from './types.ts';
import {
  FLAG_HOSTS,
  H_FLAGS,
  H_MAGIC,
  H_MAX_DEPTH,
  H_TOTAL_BYTES,
  H_VERSION,
  HEADER_BYTES,
  MAX_PARAMS,
  MAX_SEGMENTS,
  TABLE_MAGIC,
  TABLE_VERSION,
} from './_layout.ts';
import { freshState, hotState, reserveOrThrow, writeHost, writeStr, type HotState } from './_hot-state.ts';
import { readStaticPaths, staticAnswer, type StaticPathRecord, type StaticPaths } from './_static-paths.ts';

/**
 * Paths up to this many UTF-16 units go to the js-string build's matchRouteStr; longer ones are
 * encoded. Measured on Node 24 (V8 13.6): each `wasm:js-string` charCodeAt costs about 1.5 ns
 * on a sliced string (what a server's `url.slice` gives), while encodeInto costs about 30 ns
 * whatever the length, so past about 32 units the in-place read is the slower one.
 */
const IN_PLACE_MAX_UNITS = 32;

/** A route-table blob the module refuses (not from compileRouteTable, or another version). */
export class RouteTableError extends PorticoError {
  constructor(message: string) {
    super('ERR_ROUTE_TABLE_INVALID', message);
  }
}

/** A route table loaded into a hot-path module's memory (several can be loaded at once). */
export interface LoadedTable {
  readonly hot: HotExports;
  /** Pointer of the blob in linear memory. */
  readonly ptr: number;
  readonly byteLength: number;
  /** Bytes reserved at `ptr` (at least `byteLength`): what a later table may reuse. */
  readonly capacity: number;
  /** Whether some entry names a host (otherwise the host is never written). */
  readonly usesHost: boolean;
}

/** Options of loadRouteTable. */
export interface LoadOptions {
  /**
   * A table loaded earlier in the same module whose memory the new one may take over when it
   * fits: the old table, and every matcher over it, must not be used afterwards.
   */
  replace?: LoadedTable;
  /** Bytes to reserve when new memory is needed (default and minimum: the blob's length). */
  reserveBytes?: number;
}

/**
 * Copies a route-table blob into the module's memory, once. The memory is never freed: load
 * tables at startup or on config reload, not per request (`replace` reuses an old table's).
 */
export function loadRouteTable(hot: HotExports, blob: Uint8Array, options: LoadOptions = {}): LoadedTable {
  // Checked before anything is written: a refused blob must not destroy the table it replaces.
  if (!isRouteTableBlob(blob)) {
    throw new RouteTableError('route table: not a blob from compileRouteTable (bad magic, version or length)');
  }
  const old = options.replace;
  const reuse = old !== undefined && old.hot === hot && old.capacity >= blob.byteLength;
  const capacity = reuse ? old.capacity : Math.max(options.reserveBytes ?? 0, blob.byteLength);
  const ptr = reuse ? old.ptr : reserveOrThrow(hot, capacity);
  const st = hotState(hot);
  st.u8.set(blob, ptr);
  if (hot.checkTable(ptr, blob.byteLength) !== 0) {
    throw new RouteTableError('route table: not a blob from compileRouteTable (bad magic, version or length)');
  }
  const flags = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(H_FLAGS, true);
  return { hot, ptr, byteLength: blob.byteLength, capacity, usesHost: (flags & FLAG_HOSTS) !== 0 };
}

/** The header checks of the module's checkTable, on the blob before it is copied in. */
function isRouteTableBlob(blob: Uint8Array): boolean {
  if (blob.byteLength < HEADER_BYTES) return false;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  return (
    view.getUint32(H_MAGIC, true) === TABLE_MAGIC &&
    view.getUint32(H_VERSION, true) === TABLE_VERSION &&
    view.getUint32(H_TOTAL_BYTES, true) === blob.byteLength &&
    view.getUint32(H_MAX_DEPTH, true) <= MAX_SEGMENTS
  );
}

/**
 * After a path too long for the scratch moved it (which drops the host): writes the host, then
 * the path again, into the grown scratch, which now holds both. Returns the path's length.
 */
function rewriteAfterGrowth(st: HotState, host: string, path: string): number {
  writeHost(st, host);
  return writeStr(st, path);
}

/** UTF-16 offset in `s` of UTF-8 byte offset `byte` (lone surrogates count 3 bytes, as U+FFFD). */
function utf16Offset(s: string, byte: number): number {
  let b = 0;
  let i = 0;
  while (i < s.length && b < byte) {
    const c = s.charCodeAt(i);
    if (c < 0x80) b += 1;
    else if (c < 0x800) b += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        b += 4;
        i += 2;
        continue;
      }
      b += 3;
    } else b += 3;
    i++;
  }
  return i;
}

/**
 * The Matcher of createMatcher.
 *
 * Params are read lazily from the module's param output area, which keeps the params of the
 * last successful match (a miss does not touch it). Several matchers can share one module:
 * the one whose params are in the area is its `paramsOwner`, and any other matcher about to
 * match first makes it copy them out. So the common case copies nothing.
 */
export class HotMatcher implements Matcher {
  private readonly st: HotState;
  /**
   * The last path, kept only when it is not ASCII (offsets then need converting). Storing a
   * fresh string into this long-lived object on every call would cost a write barrier.
   */
  private lastPath = '';
  private lastAscii = true;
  /** UTF-8 lengths of the last host and path; both sit at the scratch (see matchNext). */
  private lastPathLen = 0;
  private lastHostLen = 0;
  private readonly tablePtr: number;
  private readonly usesHost: boolean;
  /** The js-string build's matchRouteStr (reads the path in place), or undefined. */
  private readonly matchStr: HotExports['matchRouteStr'];
  /** Whether the params of the last success are still in the module's output area. */
  private live = false;
  /** Path and byte length of the last successful match (offsets are converted for non-ASCII). */
  private okPath = '';
  private okAscii = true;
  /**
   * Params when not live: count, then (start, end) pairs in string offsets. Either `ownSaved`
   * (copied out of the module) or a static record's precomputed params (never written).
   */
  private saved: Int32Array;
  private readonly ownSaved = new Int32Array(1 + 2 * MAX_PARAMS);
  /**
   * The table's static paths by length, where the module answers them from their record alone
   * (see _static-paths.ts), else undefined: such a path is answered here, without a crossing.
   */
  private readonly staticPaths: StaticPaths | undefined;
  /** The record of the last `match` when it was answered here (what matchNext continues), else undefined. */
  private staticRec: StaticPathRecord | undefined = undefined;

  constructor(
    private readonly hot: HotExports,
    table: LoadedTable,
  ) {
    this.st = hotState(hot);
    this.tablePtr = table.ptr;
    this.usesHost = table.usesHost;
    this.matchStr = typeof hot.matchRouteStr === 'function' ? hot.matchRouteStr : undefined;
    this.saved = this.ownSaved;
    this.staticPaths = readStaticPaths(this.st.u8, table.ptr);
  }

  match(methodBit: number, host: string, path: string, from: number): number {
    const staticPaths = this.staticPaths;
    if (staticPaths !== undefined) {
      // A static path of the table: the module would answer from its record alone, so the
      // record answers here (a length with no static path costs one array read).
      const candidates = path.length < staticPaths.length ? staticPaths[path.length] : undefined;
      if (candidates !== undefined) {
        for (let k = 0; k < candidates.length; k++) {
          const rec = candidates[k]!;
          if (rec.path === path) return this.answerStatic(rec, methodBit, from);
        }
      }
      this.staticRec = undefined;
    }
    const st = freshState(this.st);
    const owner = st.paramsOwner;
    if (owner !== this && owner !== undefined) owner.saveParams();
    const matchStr = this.matchStr;
    if (matchStr !== undefined && path.length <= IN_PLACE_MAX_UNITS) {
      // The js-string build reads the path itself; only a path it does not take (not ASCII,
      // longer than the scratch) goes the encoding way below.
      const hostLen = this.usesHost ? writeHost(st, host) : 0;
      const pathPtr = st.strPtr;
      const r = matchStr(this.tablePtr, methodBit, pathPtr - hostLen, hostLen, pathPtr, st.strCap, path, from);
      if (r !== STATUS_NOT_COPIED) {
        this.lastPathLen = path.length;
        this.lastHostLen = hostLen;
        this.lastAscii = true;
        return r < 0 ? -1 : this.finish(r, st);
      }
    }
    return this.matchEncoded(st, methodBit, host, path, from);
  }

  /**
   * The answer of `match` for a static path from its record: the entry, and its precomputed
   * params as this matcher's saved (not live) params. The module's param area is not touched,
   * as after a miss.
   */
  private answerStatic(rec: StaticPathRecord, methodBit: number, from: number): number {
    this.staticRec = rec;
    const k = staticAnswer(rec, methodBit, from);
    if (k < 0) return -1;
    if (this.live) {
      this.live = false;
      const st = this.st;
      if (st.paramsOwner === this) st.paramsOwner = undefined;
    }
    this.saved = rec.params[k]!;
    this.okAscii = true;
    return rec.items[2 * k]!;
  }

  /** match with the path written into the scratch by JS (charCodeAt for short ASCII, else encodeInto). */
  private matchEncoded(st: HotState, methodBit: number, host: string, path: string, from: number): number {
    // The host first: a path too long for the scratch moves it (and drops the host). Pointers
    // are read after both writes.
    const hostLen = this.usesHost ? writeHost(st, host) : 0;
    const before = st.strPtr;
    let pathLen = writeStr(st, path);
    if (st.strPtr !== before && this.usesHost) pathLen = rewriteAfterGrowth(st, host, path);
    const pathPtr = st.strPtr;
    this.lastPathLen = pathLen;
    this.lastHostLen = hostLen;
    const ascii = pathLen === path.length;
    this.lastAscii = ascii;
    if (!ascii) this.lastPath = path;
    const r = this.hot.matchRoute(this.tablePtr, methodBit, pathPtr - hostLen, hostLen, pathPtr, pathLen, from);
    return r < 0 ? -1 : this.finish(r, st);
  }

  /**
   * The request step (see request-step.ts): writes host and path back to back (the host only
   * when it changed), makes the one requestStep call, and keeps the params of a hit like
   * `match`. Returns requestStep's raw result (hash and bucket decision stay in the module).
   */
  step(
    buckets: number,
    methodBit: number,
    host: string,
    path: string,
    clientLo: number,
    clientHi: number,
    nowMs: number,
    ratePerSecond: number,
    burst: number,
    cost: number,
  ): number {
    this.staticRec = undefined;
    const st = freshState(this.st);
    if (st.paramsOwner !== this && st.paramsOwner !== undefined) st.paramsOwner.saveParams();
    const hostLen = writeHost(st, host);
    const before = st.strPtr;
    let pathLen = writeStr(st, path);
    if (st.strPtr !== before) pathLen = rewriteAfterGrowth(st, host, path);
    const key = st.strPtr - hostLen;
    const ascii = pathLen === path.length;
    this.lastAscii = ascii;
    if (!ascii) this.lastPath = path;
    this.lastPathLen = pathLen;
    this.lastHostLen = hostLen;
    const r = this.hot.requestStep(
      this.tablePtr,
      buckets,
      methodBit,
      key,
      hostLen,
      pathLen,
      clientLo,
      clientHi,
      nowMs,
      ratePerSecond,
      burst,
      cost,
    );
    if (r >= 2) this.finish((r >> 1) - 1, st);
    return r;
  }

  /**
   * Matches the host and path of the previous `match` again, from `from`, without writing them
   * again. Only valid while nothing else has used this module's scratch since that `match`
   * (e.g. inside one router lookup).
   */
  matchNext(methodBit: number, from: number): number {
    // The last match was a static path answered from its record: so is this one.
    const rec = this.staticRec;
    if (rec !== undefined) return this.answerStatic(rec, methodBit, from);
    const st = freshState(this.st);
    const owner = st.paramsOwner;
    if (owner !== this && owner !== undefined) owner.saveParams();
    const hostLen = this.lastHostLen;
    const pathPtr = st.strPtr;
    const r = this.hot.matchRoute(this.tablePtr, methodBit, pathPtr - hostLen, hostLen, pathPtr, this.lastPathLen, from);
    return r < 0 ? -1 : this.finish(r, st);
  }

  /** After a hit: this matcher's params are the ones in the output area. */
  private finish(r: number, st: HotState): number {
    // On a miss the module leaves the output area alone: the params of the last success stay.
    if (st.paramsOwner !== this) st.paramsOwner = this;
    this.live = true;
    const ascii = this.lastAscii;
    this.okAscii = ascii;
    if (!ascii) this.okPath = this.lastPath;
    return r;
  }

  /** Copies this matcher's params out of the module before another matcher overwrites them. */
  saveParams(): void {
    const saved = this.ownSaved;
    const count = this.paramCount();
    for (let i = 0; i < count; i++) {
      saved[1 + 2 * i] = this.paramStart(i);
      saved[2 + 2 * i] = this.paramEnd(i);
    }
    saved[0] = count;
    this.saved = saved;
    this.live = false;
    this.st.paramsOwner = undefined;
  }

  private out(k: number): number {
    const st = freshState(this.st);
    const byte = st.u32[(st.paramsPtr >>> 2) + k]!;
    // Non-ASCII path: the module answers in UTF-8 bytes; the contract is string offsets.
    return this.okAscii ? byte : utf16Offset(this.okPath, byte);
  }

  /**
   * `path.slice(paramStart(i), paramEnd(i))` for a valid `i` of the last success of this
   * matcher, `path` being the string it matched, with one read of the output area per offset.
   */
  paramSlice(path: string, i: number): string {
    if (this.live && this.okAscii) {
      const st = freshState(this.st);
      const at = (st.paramsPtr >>> 2) + 1 + 2 * i;
      return path.slice(st.u32[at]!, st.u32[at + 1]!);
    }
    return path.slice(this.paramStart(i), this.paramEnd(i));
  }

  /**
   * Appends the first `count` params of the last success, as slices of `path` (the string it
   * matched), to `out`; returns `out`. One view read for all of them.
   */
  sliceParams(path: string, count: number, out: string[]): string[] {
    if (this.live && this.okAscii) {
      const st = freshState(this.st);
      const u32 = st.u32;
      let at = (st.paramsPtr >>> 2) + 1;
      for (let i = 0; i < count; i++, at += 2) out.push(path.slice(u32[at]!, u32[at + 1]!));
      return out;
    }
    for (let i = 0; i < count; i++) out.push(path.slice(this.paramStart(i), this.paramEnd(i)));
    return out;
  }

  /**
   * The first `count` params of the last success as a new array of slices of `path`. Up to three
   * are written as one array literal: `push` onto an empty array is a call of V8's builtin that
   * grows the array's store (about 200 instructions a push under callgrind on Node 24), where a
   * literal of known length is allocated inline.
   */
  paramsArray(path: string, count: number): string[] {
    if (count <= 3 && this.live && this.okAscii) {
      const st = freshState(this.st);
      const u32 = st.u32;
      const at = (st.paramsPtr >>> 2) + 1;
      if (count === 1) return [path.slice(u32[at]!, u32[at + 1]!)];
      if (count === 2) return [path.slice(u32[at]!, u32[at + 1]!), path.slice(u32[at + 2]!, u32[at + 3]!)];
      if (count === 3) {
        return [
          path.slice(u32[at]!, u32[at + 1]!),
          path.slice(u32[at + 2]!, u32[at + 3]!),
          path.slice(u32[at + 4]!, u32[at + 5]!),
        ];
      }
      return [];
    }
    return this.sliceParams(path, count, []);
  }

  paramCount(): number {
    if (!this.live) return this.saved[0]!;
    const st = freshState(this.st);
    return st.u32[st.paramsPtr >>> 2]!;
  }

  paramStart(i: number): number {
    if (i < 0 || i >= this.paramCount()) return -1;
    return this.live ? this.out(1 + 2 * i) : this.saved[1 + 2 * i]!;
  }

  paramEnd(i: number): number {
    if (i < 0 || i >= this.paramCount()) return -1;
    return this.live ? this.out(2 + 2 * i) : this.saved[2 + 2 * i]!;
  }
}

/**
 * Loads `table` (from compileRouteTable) into `hot` and returns a Matcher over it.
 * match(methodBit, host, path, from) gives the first matching entry index >= from, or -1;
 * paramStart/paramEnd then give offsets into `path` (-1 for an index out of range).
 */
export function createMatcher(hot: HotExports, table: Uint8Array | LoadedTable): Matcher {
  const loaded = table instanceof Uint8Array ? loadRouteTable(hot, table) : table;
  return new HotMatcher(hot, loaded);
}
