/**
 * The TypeScript twin of the hot-path module: the same exports, ABI and semantics as
 * wasm/assembly, over its own ArrayBuffer "linear memory". It is the oracle of the
 * differential tests and a fallback where neither Wasm nor the wasm2js build can load.
 * Keep it a line-by-line port of wasm/assembly; only the XXH64 differs in form: its 64-bit
 * words are (hi, lo) pairs of 32-bit numbers here.
 *
 * @example
 * const hot = createTwinHot();
 * hashKey(hot, 'GET example.com/a'); // same 16 hex chars as the Wasm build
 */
import type { HotExports, HotMemory } from './types.ts';
import {
  TABLE_MAGIC,
  TABLE_VERSION,
  H_MAGIC,
  H_VERSION,
  H_TOTAL_BYTES,
  H_ANY_GROUP,
  H_HOST_MASK,
  H_HOST_SLOTS,
  H_SUFFIX_LEN_COUNT,
  H_SUFFIX_LENS,
  HEADER_BYTES,
  G_KIND,
  G_KEY_LEN,
  G_KEY_OFF,
  G_ROOT,
  G_DEFERRED,
  G_MIN_IDX,
  G_MAX_IDX,
  G_STATIC_MASK,
  G_STATIC_SLOTS,
  G_STATIC_LENS,
  STATIC_LEN_CAP,
  SK_KEY_LEN,
  SK_KEY_OFF,
  SK_COUNT,
  SK_ITEMS,
  SI_IDX,
  SI_METHODS,
  SI_PARAM_COUNT,
  SI_PARAMS,
  STATIC_ITEM_BYTES,
  HOST_EXACT,
  HOST_SUFFIX,
  N_MIN_IDX,
  N_MAX_IDX,
  N_LABEL_LEN,
  N_LABEL_OFF,
  N_CHILD_MASK,
  N_CHILD_SLOTS,
  N_PARAM_CHILD,
  N_END_LIST,
  N_REST_LIST,
  LIST_HEADER_BYTES,
  LIST_ITEM_BYTES,
  MAX_PARAMS,
  MAX_SEGMENTS,
  H_MAX_DEPTH,
  NO_ENTRY,
  murmur3,
  quickHash,
  STATUS_NO_MATCH,
  STATUS_BAD_TABLE,
  STATUS_BAD_ARGUMENT,
  SLASH,
  B_CAPACITY,
  B_MASK,
  B_MAGIC,
  B_CLOCK,
  BUCKET_HEADER_BYTES,
  BUCKET_MAGIC,
  S_KEY_LO,
  S_KEY_HI,
  S_USED,
  S_TOKENS,
  S_STAMP,
  S_TOUCHED,
  BUCKET_SLOT_BYTES,
  PROBE_WINDOW,
  MIN_BUCKET_CAPACITY,
  MAX_BUCKET_CAPACITY,
} from './_layout.ts';

/** staticLookup's answer for a path that is not one of the group's static paths. */
const NOT_STATIC = -2;
const PAGE_BYTES = 65536;
const MAX_PAGES = 65536;
const REGION_ALIGN = 16;
const MAX_ADDRESS = 0xfff00000;

// Static areas, like the data section of the Wasm module (addresses differ; the ABI does not).
const PARAMS_OUT = 1024;
const CAPS = PARAMS_OUT + 4 + 8 * MAX_PARAMS + 12;
const SEGS = CAPS + 8 * MAX_PARAMS;
const STACK = SEGS + 8 * (MAX_SEGMENTS + 1);
const STACK_ENTRY_BYTES = 12;
const HASH_OUT = STACK + STACK_ENTRY_BYTES * (MAX_SEGMENTS + 1) + 4;
const BUCKET_OUT = HASH_OUT + 16;
const HEAP_BASE = BUCKET_OUT + 16;

const MS_PER_SECOND = 1000;
const WAIT_NEVER = -1;

// XXH64 on 64-bit words held as (hi, lo) pairs of uint32: the results of the helpers below
// land in R = [hi, lo]. Plain numbers, not BigInt (BigInt made one step cost microseconds),
// and a Uint32Array for the results: a module-level number above 2^30 is a heap number, and
// writing one allocates.
const P1H = 0x9e3779b1,
  P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d,
  P2L = 0x27d4eb4f;
const P3H = 0x165667b1,
  P3L = 0x9e3779f9;
const P4H = 0x85ebca77,
  P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f,
  P5L = 0x165667c5;
/** -PRIME64_1 mod 2^64, for `seed - PRIME64_1`. */
const NP1H = 0x61c8864e,
  NP1L = 0x7a143579;
const R = new Uint32Array(2);

function add64(aH: number, aL: number, bH: number, bL: number): void {
  const lo = aL + bL;
  R[1] = lo >>> 0;
  R[0] = (aH + bH + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** (aH, aL) * (bH, bL) mod 2^64. */
function mul64(aH: number, aL: number, bH: number, bL: number): void {
  const a0 = aL & 0xffff;
  const a1 = aL >>> 16;
  const b0 = bL & 0xffff;
  const b1 = bL >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  R[1] = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  // High word of aL * bL (exact: every term is below 2^34), plus the cross terms mod 2^32.
  const high = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  R[0] = (high + Math.imul(aH, bL) + Math.imul(aL, bH)) >>> 0;
}

/** Whether bucket arguments are unusable: any not finite, or rate, burst or cost negative. */
function badBucketArguments(nowMs: number, ratePerSecond: number, burst: number, cost: number): boolean {
  return (
    !Number.isFinite(nowMs) ||
    !Number.isFinite(ratePerSecond) ||
    !Number.isFinite(burst) ||
    !Number.isFinite(cost) ||
    ratePerSecond < 0 ||
    burst < 0 ||
    cost < 0
  );
}

/** Rotate left by r, 0 < r < 32. */
function rotl64(h: number, l: number, r: number): void {
  R[0] = ((h << r) | (l >>> (32 - r))) >>> 0;
  R[1] = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** rotl(acc + input * PRIME64_2, 31) * PRIME64_1 */
function round64(accH: number, accL: number, inH: number, inL: number): void {
  mul64(inH, inL, P2H, P2L);
  add64(accH, accL, R[0]!, R[1]!);
  rotl64(R[0]!, R[1]!, 31);
  mul64(R[0]!, R[1]!, P1H, P1L);
}

/** (acc ^ round(0, val)) * PRIME64_1 + PRIME64_4 */
function mergeRound64(accH: number, accL: number, valH: number, valL: number): void {
  round64(0, 0, valH, valL);
  mul64((accH ^ R[0]!) >>> 0, (accL ^ R[1]!) >>> 0, P1H, P1L);
  add64(R[0]!, R[1]!, P4H, P4L);
}

class TwinMemory implements HotMemory {
  buffer = new ArrayBuffer(PAGE_BYTES);
  u8 = new Uint8Array(this.buffer);
  u32 = new Uint32Array(this.buffer);
  f64 = new Float64Array(this.buffer);
  dv = new DataView(this.buffer);

  /** Like WebAssembly.Memory#grow: a new, larger buffer; the old one keeps its (stale) bytes. */
  grow(pages: number): number {
    const old = this.buffer.byteLength / PAGE_BYTES;
    if (old + pages > MAX_PAGES) return -1;
    const next = new ArrayBuffer((old + pages) * PAGE_BYTES);
    new Uint8Array(next).set(this.u8);
    this.buffer = next;
    this.u8 = new Uint8Array(next);
    this.u32 = new Uint32Array(next);
    this.f64 = new Float64Array(next);
    this.dv = new DataView(next);
    return old;
  }
}

class TwinHot implements HotExports {
  readonly memory = new TwinMemory();
  private heapTop = HEAP_BASE;
  // Per-call search state, as in the Wasm module.
  private gTable = 0;
  private gPath = 0;
  private gPathLen = 0;
  private gFrom = 0;
  private gBest = NO_ENTRY;
  private gMethod = 0;

  private ld(addr: number): number {
    return this.memory.u32[addr >>> 2]!;
  }
  private st(addr: number, value: number): void {
    this.memory.u32[addr >>> 2] = value;
  }

  reserve(bytes: number): number {
    bytes >>>= 0;
    const start = this.heapTop;
    const size = (bytes + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
    if (size > MAX_ADDRESS - start || size < 0) return 0;
    const end = start + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const need = Math.ceil((end - have) / PAGE_BYTES);
      if (this.memory.grow(need) < 0) return 0;
    }
    this.heapTop = end;
    return start;
  }
  paramsPtr(): number {
    return PARAMS_OUT;
  }
  hashOutPtr(): number {
    return HASH_OUT;
  }
  bucketOutPtr(): number {
    return BUCKET_OUT;
  }

  checkTable(table: number, len: number): number {
    if (
      len < HEADER_BYTES ||
      this.ld(table + H_MAGIC) !== TABLE_MAGIC ||
      this.ld(table + H_VERSION) !== TABLE_VERSION ||
      this.ld(table + H_TOTAL_BYTES) !== len ||
      this.ld(table + H_MAX_DEPTH) > MAX_SEGMENTS
    ) {
      return STATUS_BAD_TABLE;
    }
    return 0;
  }

  private bytesEqual(a: number, b: number, len: number): boolean {
    const u8 = this.memory.u8;
    for (let i = 0; i < len; i++) if (u8[a + i] !== u8[b + i]) return false;
    return true;
  }

  private firstInList(list: number, from: number, best: number, method: number): number {
    const u32 = this.memory.u32;
    const count = u32[list >>> 2]!;
    let item = list + LIST_HEADER_BYTES;
    const end = item + count * LIST_ITEM_BYTES;
    while (item < end) {
      const idx = u32[item >>> 2]!;
      if (idx >= best) return NO_ENTRY;
      const methods = u32[(item >>> 2) + 1]!;
      if (idx >= from && (methods === 0 || (methods & method) !== 0)) return idx;
      item += LIST_ITEM_BYTES;
    }
    return NO_ENTRY;
  }

  private writeParams(count: number): void {
    const u32 = this.memory.u32;
    u32[PARAMS_OUT >>> 2] = count;
    for (let i = 0; i < count * 2; i++) u32[(PARAMS_OUT >>> 2) + 1 + i] = u32[(CAPS >>> 2) + i]!;
  }

  private nextSlash(pos: number, len: number): number {
    const u8 = this.memory.u8;
    const path = this.gPath;
    while (pos < len && u8[path + pos] !== SLASH) pos++;
    return pos;
  }

  private walk(root: number, bestIn: number): number {
    const table = this.gTable;
    const path = this.gPath;
    const len = this.gPathLen;
    const from = this.gFrom;
    const method = this.gMethod;
    const u32 = this.memory.u32;
    let best = bestIn;
    let node = root;
    let seg = 0;
    let depth = 0;
    let pos = 0;
    let scanned = 0;
    let sp = 0;
    for (;;) {
      if (this.ld(node + N_MIN_IDX) < best && this.ld(node + N_MAX_IDX) >= from) {
        const atEnd = pos === len;
        const restList = this.ld(node + N_REST_LIST);
        if (restList !== 0) {
          const idx = this.firstInList(table + restList, from, best, method);
          if (idx < best) {
            best = idx;
            this.st(CAPS + depth * 8, atEnd ? len : pos + 1);
            this.st(CAPS + depth * 8 + 4, len);
            this.writeParams(depth + 1);
          }
        }
        if (atEnd) {
          const endList = this.ld(node + N_END_LIST);
          if (endList !== 0) {
            const idx = this.firstInList(table + endList, from, best, method);
            if (idx < best) {
              best = idx;
              this.writeParams(depth);
            }
          }
        } else {
          const segStart = pos + 1;
          let segEnd: number;
          const at = SEGS + seg * 8;
          if (seg < scanned) {
            segEnd = this.ld(at + 4);
          } else {
            segEnd = this.nextSlash(segStart, len);
            this.st(at, segStart);
            this.st(at + 4, segEnd);
            scanned = seg + 1;
          }
          const segLen = segEnd - segStart;
          const paramChild = this.ld(node + N_PARAM_CHILD);
          const slots = this.ld(node + N_CHILD_SLOTS);
          if (slots === 0) {
            if (paramChild !== 0 && segLen > 0) {
              this.st(CAPS + depth * 8, segStart);
              this.st(CAPS + depth * 8 + 4, segEnd);
              node = table + paramChild;
              seg++;
              depth++;
              pos = segEnd;
              continue;
            }
          } else if (paramChild !== 0 && segLen > 0) {
            const entry = STACK + sp * STACK_ENTRY_BYTES;
            this.st(entry, table + paramChild);
            this.st(entry + 4, seg);
            this.st(entry + 8, depth);
            sp++;
          }
          if (slots !== 0) {
            const mask = this.ld(node + N_CHILD_MASK);
            const segPtr = path + segStart;
            let i = quickHash(this.memory.u8, segPtr, segLen) & mask;
            let found = 0;
            for (;;) {
              const child = u32[(table + slots + i * 4) >>> 2]!;
              if (child === 0) break;
              const c = table + child;
              if (this.ld(c + N_LABEL_LEN) === segLen && this.bytesEqual(table + this.ld(c + N_LABEL_OFF), segPtr, segLen)) {
                found = c;
                break;
              }
              i = (i + 1) & mask;
            }
            if (found !== 0) {
              node = found;
              seg++;
              pos = segEnd;
              continue;
            }
          }
        }
      }
      if (sp === 0) break;
      sp--;
      const entry = STACK + sp * STACK_ENTRY_BYTES;
      node = this.ld(entry);
      const pseg = this.ld(entry + 4);
      depth = this.ld(entry + 8);
      const at = SEGS + pseg * 8;
      pos = this.ld(at + 4);
      this.st(CAPS + depth * 8, this.ld(at));
      this.st(CAPS + depth * 8 + 4, pos);
      seg = pseg + 1;
      depth++;
    }
    return best;
  }

  /**
   * staticLookup of matcher.ts: the first entry in [from, best) listed for this static path that
   * takes the method (params written), STATUS_NO_MATCH when the path is one of the group's static
   * paths but no such entry is, NOT_STATIC when it is not one of them.
   */
  private staticLookup(group: number, path: number, len: number, from: number, best: number, method: number): number {
    const slots = this.ld(group + G_STATIC_SLOTS);
    if (slots === 0) return NOT_STATIC;
    const table = this.gTable;
    const lenBit = Math.min(len, STATIC_LEN_CAP);
    const lens = table + this.ld(group + G_STATIC_LENS);
    if ((this.ld(lens + (lenBit >>> 5) * 4) & (1 << (lenBit & 31))) === 0) return NOT_STATIC;
    const mask = this.ld(group + G_STATIC_MASK);
    let i = quickHash(this.memory.u8, path, len) & mask;
    for (;;) {
      const r = this.ld(table + slots + i * 4);
      if (r === 0) return NOT_STATIC;
      const rec = table + r;
      if (this.ld(rec + SK_KEY_LEN) === len && this.bytesEqual(table + this.ld(rec + SK_KEY_OFF), path, len)) {
        let item = rec + SK_ITEMS;
        const end = item + this.ld(rec + SK_COUNT) * STATIC_ITEM_BYTES;
        while (item < end) {
          const idx = this.ld(item + SI_IDX);
          if (idx >= best) break;
          const methods = this.ld(item + SI_METHODS);
          if (idx >= from && (methods === 0 || (methods & method) !== 0)) {
            const count = this.ld(item + SI_PARAM_COUNT);
            this.st(PARAMS_OUT, count);
            const params = table + this.ld(item + SI_PARAMS);
            for (let k = 0; k < count * 2; k++) this.st(PARAMS_OUT + 4 + k * 4, this.ld(params + k * 4));
            return idx;
          }
          item += STATIC_ITEM_BYTES;
        }
        return STATUS_NO_MATCH;
      }
      i = (i + 1) & mask;
    }
  }

  private searchGroup(group: number, segmentsOk: boolean): void {
    if (this.ld(group + G_MIN_IDX) >= this.gBest || this.ld(group + G_MAX_IDX) < this.gFrom) return;
    const root = this.ld(group + G_ROOT);
    if (root !== 0 && segmentsOk) {
      const hit = this.staticLookup(group, this.gPath, this.gPathLen, this.gFrom, this.gBest, this.gMethod);
      if (hit >= 0) this.gBest = hit;
      else if (hit === NOT_STATIC) this.gBest = this.walk(this.gTable + root, this.gBest);
    }
    const deferred = this.ld(group + G_DEFERRED);
    if (deferred !== 0) {
      const idx = this.firstInList(this.gTable + deferred, this.gFrom, this.gBest, this.gMethod);
      if (idx < this.gBest) {
        this.gBest = idx;
        this.st(PARAMS_OUT, 0);
      }
    }
  }

  private findHostGroup(kind: number, key: number, keyLen: number): number {
    const table = this.gTable;
    const slots = this.ld(table + H_HOST_SLOTS);
    const mask = this.ld(table + H_HOST_MASK);
    let i = murmur3(this.memory.u8, key, keyLen) & mask;
    for (;;) {
      const g = this.ld(table + slots + i * 4);
      if (g === 0) return 0;
      const group = table + g;
      if (
        this.ld(group + G_KIND) === kind &&
        this.ld(group + G_KEY_LEN) === keyLen &&
        this.bytesEqual(table + this.ld(group + G_KEY_OFF), key, keyLen)
      ) {
        return group;
      }
      i = (i + 1) & mask;
    }
  }

  matchRoute(
    table: number,
    methodBit: number,
    host: number,
    hostLen: number,
    path: number,
    pathLen: number,
    from: number,
  ): number {
    table >>>= 0;
    hostLen >>>= 0;
    pathLen >>>= 0;
    from |= 0;
    const fromIdx = from < 0 ? 0 : from;
    const any = this.ld(table + H_ANY_GROUP);
    this.gTable = table;
    this.gPath = path >>> 0;
    this.gPathLen = pathLen;
    this.gFrom = fromIdx;
    this.gBest = NO_ENTRY;
    this.gMethod = methodBit >>> 0;
    const segmentsOk = pathLen > 0 && this.memory.u8[path]! === SLASH;
    // The module's fast path: a table without hosts whose one group has no deferred entries.
    // (The module also takes it for a table with hosts and no any-host group when the request's
    // host has exactly one group, found through its host cache; the general path below gives the
    // same answer there.)
    if (any !== 0 && this.ld(table + H_HOST_SLOTS) === 0 && segmentsOk) {
      const group = table + any;
      if (this.ld(group + G_DEFERRED) === 0) {
        const hit = this.staticLookup(group, this.gPath, pathLen, fromIdx, NO_ENTRY, this.gMethod);
        if (hit !== NOT_STATIC) return hit;
        const root = this.ld(group + G_ROOT);
        if (root === 0 || this.ld(group + G_MAX_IDX) < fromIdx) return STATUS_NO_MATCH;
        const best = this.walk(table + root, NO_ENTRY);
        return best === NO_ENTRY ? STATUS_NO_MATCH : best;
      }
    }

    if (any !== 0) this.searchGroup(table + any, segmentsOk);
    if (this.ld(table + H_HOST_SLOTS) !== 0) {
      const exact = this.findHostGroup(HOST_EXACT, host, hostLen);
      if (exact !== 0) this.searchGroup(exact, segmentsOk);
      const lensCount = this.ld(table + H_SUFFIX_LEN_COUNT);
      const lens = table + this.ld(table + H_SUFFIX_LENS);
      for (let i = 0; i < lensCount; i++) {
        const suffixLen = this.ld(lens + i * 4);
        if (suffixLen >= hostLen) break;
        const g = this.findHostGroup(HOST_SUFFIX, host + hostLen - suffixLen, suffixLen);
        if (g !== 0) this.searchGroup(g, segmentsOk);
      }
    }
    return this.gBest === NO_ENTRY ? STATUS_NO_MATCH : this.gBest;
  }

  hash64(ptr: number, len: number, seedLo: number, seedHi: number): number {
    const dv = this.memory.dv;
    const sH = seedHi >>> 0;
    const sL = seedLo >>> 0;
    let p = ptr >>> 0;
    const end = p + (len >>> 0);
    let hH: number;
    let hL: number;
    if (len >>> 0 >= 32) {
      add64(sH, sL, P1H, P1L);
      add64(R[0]!, R[1]!, P2H, P2L);
      let v1H = R[0]!,
        v1L = R[1]!;
      add64(sH, sL, P2H, P2L);
      let v2H = R[0]!,
        v2L = R[1]!;
      let v3H = sH,
        v3L = sL;
      add64(sH, sL, NP1H, NP1L);
      let v4H = R[0]!,
        v4L = R[1]!;
      const limit = end - 32;
      do {
        round64(v1H, v1L, dv.getUint32(p + 4, true), dv.getUint32(p, true));
        v1H = R[0]!;
        v1L = R[1]!;
        round64(v2H, v2L, dv.getUint32(p + 12, true), dv.getUint32(p + 8, true));
        v2H = R[0]!;
        v2L = R[1]!;
        round64(v3H, v3L, dv.getUint32(p + 20, true), dv.getUint32(p + 16, true));
        v3H = R[0]!;
        v3L = R[1]!;
        round64(v4H, v4L, dv.getUint32(p + 28, true), dv.getUint32(p + 24, true));
        v4H = R[0]!;
        v4L = R[1]!;
        p += 32;
      } while (p <= limit);
      rotl64(v1H, v1L, 1);
      hH = R[0]!;
      hL = R[1]!;
      rotl64(v2H, v2L, 7);
      add64(hH, hL, R[0]!, R[1]!);
      hH = R[0]!;
      hL = R[1]!;
      rotl64(v3H, v3L, 12);
      add64(hH, hL, R[0]!, R[1]!);
      hH = R[0]!;
      hL = R[1]!;
      rotl64(v4H, v4L, 18);
      add64(hH, hL, R[0]!, R[1]!);
      mergeRound64(R[0]!, R[1]!, v1H, v1L);
      mergeRound64(R[0]!, R[1]!, v2H, v2L);
      mergeRound64(R[0]!, R[1]!, v3H, v3L);
      mergeRound64(R[0]!, R[1]!, v4H, v4L);
      hH = R[0]!;
      hL = R[1]!;
    } else {
      add64(sH, sL, P5H, P5L);
      hH = R[0]!;
      hL = R[1]!;
    }
    add64(hH, hL, 0, len >>> 0);
    hH = R[0]!;
    hL = R[1]!;
    while (p + 8 <= end) {
      round64(0, 0, dv.getUint32(p + 4, true), dv.getUint32(p, true));
      rotl64((hH ^ R[0]!) >>> 0, (hL ^ R[1]!) >>> 0, 27);
      mul64(R[0]!, R[1]!, P1H, P1L);
      add64(R[0]!, R[1]!, P4H, P4L);
      hH = R[0]!;
      hL = R[1]!;
      p += 8;
    }
    if (p + 4 <= end) {
      mul64(0, dv.getUint32(p, true), P1H, P1L);
      rotl64((hH ^ R[0]!) >>> 0, (hL ^ R[1]!) >>> 0, 23);
      mul64(R[0]!, R[1]!, P2H, P2L);
      add64(R[0]!, R[1]!, P3H, P3L);
      hH = R[0]!;
      hL = R[1]!;
      p += 4;
    }
    while (p < end) {
      mul64(0, dv.getUint8(p), P5H, P5L);
      rotl64((hH ^ R[0]!) >>> 0, (hL ^ R[1]!) >>> 0, 11);
      mul64(R[0]!, R[1]!, P1H, P1L);
      hH = R[0]!;
      hL = R[1]!;
      p++;
    }
    // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
    hL = (hL ^ (hH >>> 1)) >>> 0;
    mul64(hH, hL, P2H, P2L);
    hH = R[0]!;
    hL = R[1]!;
    hL = (hL ^ ((hL >>> 29) | (hH << 3))) >>> 0;
    hH = (hH ^ (hH >>> 29)) >>> 0;
    mul64(hH, hL, P3H, P3L);
    hH = R[0]!;
    hL = (R[1]! ^ R[0]!) >>> 0;
    dv.setUint32(HASH_OUT, hL, true);
    dv.setUint32(HASH_OUT + 4, hH, true);
    return 0;
  }

  bucketTableBytes(capacity: number): number {
    capacity >>>= 0;
    if (capacity < MIN_BUCKET_CAPACITY || capacity > MAX_BUCKET_CAPACITY || (capacity & (capacity - 1)) !== 0) return 0;
    return BUCKET_HEADER_BYTES + capacity * BUCKET_SLOT_BYTES;
  }

  bucketInit(table: number, capacity: number): number {
    const bytes = this.bucketTableBytes(capacity);
    if (bytes === 0) return STATUS_BAD_ARGUMENT;
    this.memory.u8.fill(0, table, table + bytes);
    this.st(table + B_CAPACITY, capacity >>> 0);
    this.st(table + B_MASK, (capacity >>> 0) - 1);
    this.st(table + B_MAGIC, BUCKET_MAGIC);
    this.memory.f64[(table + B_CLOCK) >>> 3] = 0;
    return 0;
  }

  bucketConsume(
    table: number,
    keyLo: number,
    keyHi: number,
    nowMs: number,
    ratePerSecond: number,
    burst: number,
    cost: number,
  ): number {
    table >>>= 0;
    keyLo >>>= 0;
    keyHi >>>= 0;
    const f64 = this.memory.f64;
    if (this.ld(table + B_MAGIC) !== BUCKET_MAGIC) return STATUS_BAD_TABLE;
    if (badBucketArguments(nowMs, ratePerSecond, burst, cost)) return STATUS_BAD_ARGUMENT;
    const mask = this.ld(table + B_MASK);
    const slots = table + BUCKET_HEADER_BYTES;
    const home = keyLo & mask;
    let slot = 0;
    let firstEmpty = 0;
    let oldest = 0;
    let oldestTouched = Infinity;
    for (let i = 0; i < PROBE_WINDOW; i++) {
      const s = slots + ((home + i) & mask) * BUCKET_SLOT_BYTES;
      if (this.ld(s + S_USED) === 0) {
        if (firstEmpty === 0) firstEmpty = s;
        continue;
      }
      if (this.ld(s + S_KEY_LO) === keyLo && this.ld(s + S_KEY_HI) === keyHi) {
        slot = s;
        break;
      }
      const touched = f64[(s + S_TOUCHED) >>> 3]!;
      if (touched < oldestTouched) {
        oldestTouched = touched;
        oldest = s;
      }
    }
    const clock = f64[(table + B_CLOCK) >>> 3]! + 1;
    f64[(table + B_CLOCK) >>> 3] = clock;

    let tokens: number;
    if (slot === 0) {
      slot = firstEmpty !== 0 ? firstEmpty : oldest;
      this.st(slot + S_KEY_LO, keyLo);
      this.st(slot + S_KEY_HI, keyHi);
      this.st(slot + S_USED, 1);
      f64[(slot + S_STAMP) >>> 3] = nowMs;
      tokens = burst;
    } else {
      tokens = f64[(slot + S_TOKENS) >>> 3]!;
      const stamp = f64[(slot + S_STAMP) >>> 3]!;
      const elapsed = nowMs - stamp;
      if (elapsed > 0) {
        tokens = tokens + (elapsed * ratePerSecond) / MS_PER_SECOND;
        f64[(slot + S_STAMP) >>> 3] = nowMs;
      }
      tokens = Math.min(burst, tokens);
    }
    f64[(slot + S_TOUCHED) >>> 3] = clock;

    let result: number;
    let waitMs: number;
    if (cost > burst) {
      result = 0;
      waitMs = WAIT_NEVER;
    } else if (tokens >= cost) {
      tokens = tokens - cost;
      result = 1;
      waitMs = 0;
    } else {
      result = 0;
      waitMs = ratePerSecond > 0 ? Math.ceil(((cost - tokens) * MS_PER_SECOND) / ratePerSecond) : WAIT_NEVER;
    }
    f64[(slot + S_TOKENS) >>> 3] = tokens;
    f64[BUCKET_OUT >>> 3] = tokens;
    f64[(BUCKET_OUT >>> 3) + 1] = waitMs;
    return result;
  }

  requestStep(
    table: number,
    buckets: number,
    methodBit: number,
    key: number,
    hostLen: number,
    pathLen: number,
    clientLo: number,
    clientHi: number,
    nowMs: number,
    ratePerSecond: number,
    burst: number,
    cost: number,
  ): number {
    buckets >>>= 0;
    key >>>= 0;
    hostLen >>>= 0;
    pathLen >>>= 0;
    if (this.ld(buckets + B_MAGIC) !== BUCKET_MAGIC) return STATUS_BAD_TABLE;
    if (badBucketArguments(nowMs, ratePerSecond, burst, cost)) return STATUS_BAD_ARGUMENT;
    const idx = this.matchRoute(table, methodBit, key, hostLen, key + hostLen, pathLen, 0);
    this.hash64(key, hostLen + pathLen, methodBit, 0);
    const lo = (this.ld(HASH_OUT) ^ clientLo) >>> 0;
    const hi = (this.ld(HASH_OUT + 4) ^ clientHi) >>> 0;
    const allowed = this.bucketConsume(buckets, lo, hi, nowMs, ratePerSecond, burst, cost);
    return ((idx + 1) << 1) | allowed;
  }
}

/** A fresh twin instance with its own memory. */
export function createTwinHot(): HotExports {
  return new TwinHot();
}
