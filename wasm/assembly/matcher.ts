// Route matcher over a compiled route table (format: core/hot/compile-route-table.ts).
// The answer is the smallest entry index >= from whose host, methods and path match. Every
// candidate group and trie branch is searched, pruned by the [min, max] entry index that each
// group and node records, so that precedence never depends on the shape of the trie.
// The path is split into segments once per call (4 bytes at a time); the trie walk then
// only hashes and compares the segments it looks up.
import {
  TABLE_MAGIC, TABLE_VERSION, HEADER_BYTES, H_MAGIC, H_VERSION, H_TOTAL_BYTES, H_ANY_GROUP,
  H_HOST_MASK, H_HOST_SLOTS, H_SUFFIX_LEN_COUNT, H_SUFFIX_LENS, H_MAX_DEPTH, G_KIND, G_KEY_LEN,
  G_KEY_OFF, G_ROOT, G_DEFERRED, G_MIN_IDX, G_MAX_IDX, G_STATIC_MASK, G_STATIC_SLOTS, SK_KEY_LEN,
  SK_KEY_OFF, SK_COUNT, SK_ITEMS, SI_IDX, SI_METHODS, SI_PARAM_COUNT, SI_PARAMS,
  STATIC_ITEM_BYTES, HOST_EXACT, HOST_SUFFIX, N_MIN_IDX,
  N_MAX_IDX, N_LABEL_LEN, N_LABEL_OFF, N_CHILD_MASK, N_CHILD_SLOTS, N_PARAM_CHILD, N_END_LIST,
  N_REST_LIST, LIST_HEADER_BYTES, LIST_ITEM_BYTES, MURMUR_C1, MURMUR_C2, MURMUR_N, MURMUR_F1,
  MURMUR_F2, MAX_SEGMENTS, NO_ENTRY, STATUS_NO_MATCH, STATUS_BAD_TABLE, SLASH,
} from './layout';
import { PARAMS_OUT, CAPS, SEGS } from './memory';

/** Unaligned loads must say so: wasm2js turns an aligned load into HEAP32[p >> 2]. */
const UNALIGNED: u32 = 1;
const SLASHES: u32 = 0x2f2f2f2f;
const LOW_BITS: u32 = 0x01010101;
const HIGH_BITS: u32 = 0x80808080;

// Per-call search state. Globals, so the recursive search passes only what changes.
let gTable: usize = 0;
let gPath: usize = 0;
let gPathLen: u32 = 0;
let gFrom: u32 = 0;
let gBest: u32 = NO_ENTRY;
let gMethod: u32 = 0;
/** Segments split so far, and whether they cover the whole path. */
let gSegCount: u32 = 0;
let gComplete: bool = false;
/** The path is split (and hashed) at most once per call, when a group first needs it. */
let gSplit: bool = false;
let gHashed: bool = false;
let gPathHash: u32 = 0;

/** MurmurHash3 x86_32 with seed 0 of `len` bytes at `p` (may read up to 3 bytes past the end). */
@inline
function murmur3(p: usize, len: u32): u32 {
  let h: u32 = 0;
  let i: u32 = 0;
  while (i + 4 <= len) {
    let k = load<u32>(p + i, 0, UNALIGNED) * MURMUR_C1;
    k = rotl<u32>(k, 15) * MURMUR_C2;
    h = rotl<u32>(h ^ k, 13) * 5 + MURMUR_N;
    i += 4;
  }
  const tail = len - i;
  if (tail != 0) {
    let k = load<u32>(p + i, 0, UNALIGNED) & ((<u32>1 << (tail << 3)) - 1);
    k = rotl<u32>(k * MURMUR_C1, 15) * MURMUR_C2;
    h ^= k;
  }
  h ^= len;
  h ^= h >> 16;
  h *= MURMUR_F1;
  h ^= h >> 13;
  h *= MURMUR_F2;
  h ^= h >> 16;
  return h;
}

@inline
function bytesEqual(a: usize, b: usize, len: u32): bool {
  let i: usize = 0;
  const n = <usize>len;
  while (i + 4 <= n) {
    if (load<u32>(a + i, 0, UNALIGNED) != load<u32>(b + i, 0, UNALIGNED)) return false;
    i += 4;
  }
  while (i < n) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i++;
  }
  return true;
}

/** Offset of the first '/' at or after `pos`, or `len`. */
@inline
function nextSlash(path: usize, pos: u32, len: u32): u32 {
  while (pos + 4 <= len) {
    const w = load<u32>(path + pos, 0, UNALIGNED) ^ SLASHES;
    const zero = (w - LOW_BITS) & ~w & HIGH_BITS;
    if (zero != 0) return pos + (ctz<u32>(zero) >> 3);
    pos += 4;
  }
  while (pos < len) {
    if (<u32>load<u8>(path + pos) == SLASH) return pos;
    pos++;
  }
  return len;
}

/** Splits the path (which starts with '/') into at most `limit` segments. */
function splitPath(limit: u32): void {
  const path = gPath;
  const len = gPathLen;
  let pos: u32 = 1;
  let count: u32 = 0;
  gComplete = false;
  while (count < limit) {
    const end = nextSlash(path, pos, len);
    const at = SEGS + (<usize>count << 3);
    store<u32>(at, pos);
    store<u32>(at, end, 4);
    count++;
    if (end == len) {
      gComplete = true;
      break;
    }
    pos = end + 1;
  }
  gSegCount = count;
}

/** First entry of a list with index in [gFrom, gBest) whose methods accept gMethod. */
@inline
function firstInList(list: usize): u32 {
  const count = load<u32>(list);
  let item = list + LIST_HEADER_BYTES;
  const end = item + <usize>count * LIST_ITEM_BYTES;
  while (item < end) {
    const idx = load<u32>(item);
    if (idx >= gBest) return NO_ENTRY;
    const methods = load<u32>(item, 4);
    if (idx >= gFrom && (methods == 0 || (methods & gMethod) != 0)) return idx;
    item += LIST_ITEM_BYTES;
  }
  return NO_ENTRY;
}

/** Records a new best entry with `count` captured params (CAPS[0..count)). */
@inline
function accept(idx: u32, count: u32): void {
  gBest = idx;
  store<u32>(PARAMS_OUT, count);
  // A plain loop: few params, and it keeps the module free of bulk-memory ops for wasm2js.
  for (let i: usize = 0; i < <usize>count << 1; i++) {
    store<u32>(PARAMS_OUT + 4 + (i << 2), load<u32>(CAPS + (i << 2)));
  }
}

/** Visits trie node `node` with `seg` segments consumed and `depth` params captured. */
function visit(node: usize, seg: u32, depth: u32): void {
  if (load<u32>(node, N_MIN_IDX) >= gBest || load<u32>(node, N_MAX_IDX) < gFrom) return;
  const table = gTable;
  const atEnd = gComplete && seg == gSegCount;

  const restList = load<u32>(node, N_REST_LIST);
  if (restList != 0) {
    const idx = firstInList(table + restList);
    if (idx < gBest) {
      // The rest starts after the '/' that follows the consumed segments (empty at the end).
      const start: u32 = atEnd ? gPathLen : load<u32>(SEGS + (<usize>seg << 3));
      store<u32>(CAPS + (<usize>depth << 3), start);
      store<u32>(CAPS + (<usize>depth << 3), gPathLen, 4);
      accept(idx, depth + 1);
    }
  }
  if (atEnd) {
    const endList = load<u32>(node, N_END_LIST);
    if (endList != 0) {
      const idx = firstInList(table + endList);
      if (idx < gBest) accept(idx, depth);
    }
    return;
  }

  const segStart = load<u32>(SEGS + (<usize>seg << 3));
  const segEnd = load<u32>(SEGS + (<usize>seg << 3), 4);
  const segLen = segEnd - segStart;

  const slots = load<u32>(node, N_CHILD_SLOTS);
  if (slots != 0) {
    const mask = load<u32>(node, N_CHILD_MASK);
    const segPtr = gPath + segStart;
    let i = murmur3(segPtr, segLen) & mask;
    while (true) {
      const child = load<u32>(table + slots + (<usize>i << 2));
      if (child == 0) break;
      const c = table + child;
      if (load<u32>(c, N_LABEL_LEN) == segLen && bytesEqual(table + load<u32>(c, N_LABEL_OFF), segPtr, segLen)) {
        visit(c, seg + 1, depth);
        break;
      }
      i = (i + 1) & mask;
    }
  }
  const paramChild = load<u32>(node, N_PARAM_CHILD);
  if (paramChild != 0 && segLen > 0) {
    store<u32>(CAPS + (<usize>depth << 3), segStart);
    store<u32>(CAPS + (<usize>depth << 3), segEnd, 4);
    visit(table + paramChild, seg + 1, depth + 1);
  }
}

/**
 * Looks the whole path up in the group's static-path table. On a hit, takes the best entry of
 * the precomputed list (params included) and returns true: the trie has nothing more to say.
 */
function searchStatic(group: usize): bool {
  const slots = load<u32>(group, G_STATIC_SLOTS);
  if (slots == 0) return false;
  const table = gTable;
  if (!gHashed) {
    gPathHash = murmur3(gPath, gPathLen);
    gHashed = true;
  }
  const mask = load<u32>(group, G_STATIC_MASK);
  let i = gPathHash & mask;
  while (true) {
    const r = load<u32>(table + slots + (<usize>i << 2));
    if (r == 0) return false;
    const rec = table + r;
    if (load<u32>(rec, SK_KEY_LEN) == gPathLen && bytesEqual(table + load<u32>(rec, SK_KEY_OFF), gPath, gPathLen)) {
      let item = rec + SK_ITEMS;
      const end = item + <usize>load<u32>(rec, SK_COUNT) * STATIC_ITEM_BYTES;
      while (item < end) {
        const idx = load<u32>(item, SI_IDX);
        if (idx >= gBest) break;
        const methods = load<u32>(item, SI_METHODS);
        if (idx >= gFrom && (methods == 0 || (methods & gMethod) != 0)) {
          gBest = idx;
          const count = load<u32>(item, SI_PARAM_COUNT);
          store<u32>(PARAMS_OUT, count);
          const params = table + load<u32>(item, SI_PARAMS);
          for (let k: usize = 0; k < <usize>count << 1; k++) {
            store<u32>(PARAMS_OUT + 4 + (k << 2), load<u32>(params + (k << 2)));
          }
          break;
        }
        item += STATIC_ITEM_BYTES;
      }
      return true;
    }
    i = (i + 1) & mask;
  }
  return false; // not reached: the probe ends at an empty slot
}

function searchGroup(group: usize, segmentsOk: bool): void {
  if (load<u32>(group, G_MIN_IDX) >= gBest || load<u32>(group, G_MAX_IDX) < gFrom) return;
  const root = load<u32>(group, G_ROOT);
  if (root != 0 && segmentsOk && !searchStatic(group)) {
    if (!gSplit) {
      // One segment more than the deepest pattern tells "longer than every pattern" apart.
      splitPath(load<u32>(gTable, H_MAX_DEPTH) + 1);
      gSplit = true;
    }
    visit(gTable + root, 0, 0);
  }
  const deferred = load<u32>(group, G_DEFERRED);
  if (deferred != 0) {
    const idx = firstInList(gTable + deferred);
    if (idx < gBest) accept(idx, 0);
  }
}

/** The host group of `kind` keyed by bytes (key, keyLen), or 0. */
function findHostGroup(kind: u32, key: usize, keyLen: u32): usize {
  const table = gTable;
  const slots = load<u32>(table, H_HOST_SLOTS);
  const mask = load<u32>(table, H_HOST_MASK);
  let i = murmur3(key, keyLen) & mask;
  while (true) {
    const g = load<u32>(table + slots + (<usize>i << 2));
    if (g == 0) return 0;
    const group = table + g;
    if (load<u32>(group, G_KIND) == kind && load<u32>(group, G_KEY_LEN) == keyLen &&
        bytesEqual(table + load<u32>(group, G_KEY_OFF), key, keyLen)) {
      return group;
    }
    i = (i + 1) & mask;
  }
}

/**
 * Checks a route table loaded at `table` with `len` bytes.
 * @returns 0 when usable, STATUS_BAD_TABLE otherwise.
 */
export function checkTable(table: u32, len: u32): i32 {
  if (len < HEADER_BYTES || load<u32>(table, H_MAGIC) != TABLE_MAGIC ||
      load<u32>(table, H_VERSION) != TABLE_VERSION || load<u32>(table, H_TOTAL_BYTES) != len ||
      load<u32>(table, H_MAX_DEPTH) > MAX_SEGMENTS) {
    return STATUS_BAD_TABLE;
  }
  return 0;
}

/**
 * Finds the first entry at index `from` or later of the table at `table` that matches.
 * Params of the answer are written at paramsPtr(): count, then (start, end) byte offsets.
 * The host and path areas must have 3 readable bytes after their ends (the scratch does).
 * @returns the entry index, or STATUS_NO_MATCH (-1).
 */
export function matchRoute(
  table: u32, methodBit: u32, host: u32, hostLen: u32, path: u32, pathLen: u32, from: i32,
): i32 {
  gTable = table;
  gPath = path;
  gPathLen = pathLen;
  gFrom = from < 0 ? 0 : <u32>from;
  gBest = NO_ENTRY;
  gMethod = methodBit;
  store<u32>(PARAMS_OUT, 0);
  gSplit = false;
  gHashed = false;
  const segmentsOk = pathLen > 0 && <u32>load<u8>(path) == SLASH;

  const any = load<u32>(<usize>table, H_ANY_GROUP);
  if (any != 0) searchGroup(<usize>table + any, segmentsOk);
  if (load<u32>(<usize>table, H_HOST_SLOTS) != 0) {
    const exact = findHostGroup(HOST_EXACT, host, hostLen);
    if (exact != 0) searchGroup(exact, segmentsOk);
    const lensCount = load<u32>(<usize>table, H_SUFFIX_LEN_COUNT);
    const lens = <usize>table + load<u32>(<usize>table, H_SUFFIX_LENS);
    for (let i: u32 = 0; i < lensCount; i++) {
      const suffixLen = load<u32>(lens + (<usize>i << 2));
      // A suffix needs at least one byte of host before it; lengths are ascending.
      if (suffixLen >= hostLen) break;
      const g = findHostGroup(HOST_SUFFIX, <usize>host + hostLen - suffixLen, suffixLen);
      if (g != 0) searchGroup(g, segmentsOk);
    }
  }
  return gBest == NO_ENTRY ? STATUS_NO_MATCH : <i32>gBest;
}
