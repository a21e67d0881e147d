// Route matcher over a compiled route table (format: core/hot/compile-route-table.ts).
// The answer is the smallest entry index >= from whose host, methods and path match. Every
// candidate group and trie branch is searched, pruned by the [min, max] entry index that each
// group and node records, so that precedence never depends on the shape of the trie.
// Whole static paths are answered from a per-group hash table; other paths walk the trie,
// which finds each segment's end 4 bytes at a time and hashes only the segments it looks up.
import {
  TABLE_MAGIC, TABLE_VERSION, HEADER_BYTES, H_MAGIC, H_VERSION, H_TOTAL_BYTES, H_ANY_GROUP,
  H_HOST_MASK, H_HOST_SLOTS, H_SUFFIX_LEN_COUNT, H_SUFFIX_LENS, H_MAX_DEPTH, G_KIND, G_KEY_LEN,
  G_KEY_OFF, G_ROOT, G_DEFERRED, G_MIN_IDX, G_MAX_IDX, G_STATIC_MASK, G_STATIC_SLOTS, G_STATIC_LENS, STATIC_LEN_CAP, SK_KEY_LEN,
  SK_KEY_OFF, SK_COUNT, SK_ITEMS, SI_IDX, SI_METHODS, SI_PARAM_COUNT, SI_PARAMS,
  STATIC_ITEM_BYTES, HOST_EXACT, HOST_SUFFIX, N_MIN_IDX,
  N_MAX_IDX, N_LABEL_LEN, N_LABEL_OFF, N_CHILD_MASK, N_CHILD_SLOTS, N_PARAM_CHILD, N_END_LIST,
  N_REST_LIST, LIST_HEADER_BYTES, LIST_ITEM_BYTES, MURMUR_C1, MURMUR_C2, MURMUR_N, MURMUR_F1,
  MURMUR_F2, MAX_SEGMENTS, NO_ENTRY, STATUS_NO_MATCH, STATUS_BAD_TABLE, SLASH,
} from './layout';
import { PARAMS_OUT, CAPS, SEGS, STACK, STACK_ENTRY_BYTES } from './memory';

/** Unaligned loads must say so: wasm2js turns an aligned load into HEAP32[p >> 2]. */
const UNALIGNED: u32 = 1;
const SLASHES: u32 = 0x2f2f2f2f;
const LOW_BITS: u32 = 0x01010101;
const HIGH_BITS: u32 = 0x80808080;
const QUICK_MUL: u32 = 0x85ebca6b;

// Per-call search state. Globals, so the recursive search passes only what changes.
let gTable: usize = 0;
let gPath: usize = 0;
let gPathLen: u32 = 0;
let gFrom: u32 = 0;
let gBest: u32 = NO_ENTRY;
let gMethod: u32 = 0;
// The host groups of the last (table, host) pair: consecutive requests usually carry the same
// host, so its hash and lookups are skipped when the bytes compare equal. Invisible in results.
const HOST_CACHE_BYTES: u32 = 256;
const HOST_CACHE_GROUPS: u32 = 16;
const HOST_CACHE: usize = memory.data(<i32>HOST_CACHE_BYTES, 16);
const HOST_CACHE_LIST: usize = memory.data(<i32>(HOST_CACHE_GROUPS << 2), 16);
let cTable: usize = 0;
let cHostLen: u32 = 0;
let cCount: u32 = 0;

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

/**
 * A cheap hash for segments and whole static paths: the first, middle and last 4 bytes and
 * the length, one multiply. Keys that share those collide and are told apart by the byte
 * compare after the probe; hosts, which differ in the middle, use murmur3.
 */
@inline
function quickHash(p: usize, len: u32): u32 {
  let h: u32;
  if (len >= 4) {
    h = load<u32>(p, 0, UNALIGNED) ^ rotl<u32>(load<u32>(p + len - 4, 0, UNALIGNED), 11) ^
      rotl<u32>(load<u32>(p + (len >> 1) - 2, 0, UNALIGNED), 22);
  } else {
    h = len == 0 ? 0 : load<u32>(p, 0, UNALIGNED) & ((<u32>1 << (len << 3)) - 1);
  }
  h = (h ^ len) * QUICK_MUL;
  return h ^ (h >> 15);
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

/**
 * bytesEqual for keys of 4 bytes or more, which ends with one (maybe overlapping) word instead
 * of a byte loop: faster on whole paths; on segment labels, mostly under 8 bytes, it measured
 * slower than bytesEqual.
 */
@inline
function bytesEqualLong(a: usize, b: usize, len: u32): bool {
  const last = <usize>len - 4;
  let i: usize = 0;
  while (i < last) {
    if (load<u32>(a + i, 0, UNALIGNED) != load<u32>(b + i, 0, UNALIGNED)) return false;
    i += 4;
  }
  return load<u32>(a + last, 0, UNALIGNED) == load<u32>(b + last, 0, UNALIGNED);
}

/** Offset of the first '/' at or after `pos`, or `len`. */
@inline
function nextSlash(path: usize, pos: u32, len: u32): u32 {
  if (isDefined(PORTICO_WASM2JS)) {
    // The build for wasm2js (scripts/build-wasm.mjs): bytes up to a 4-aligned address, then
    // aligned words, since wasm2js turns an aligned load into one HEAP32 read where an
    // unaligned one costs four byte reads. Wasm itself loads at any address at full speed.
    while (pos < len && ((path + pos) & 3) != 0) {
      if (<u32>load<u8>(path + pos) == SLASH) return pos;
      pos++;
    }
    while (pos + 4 <= len) {
      const w = load<u32>(path + pos) ^ SLASHES;
      const zero = (w - LOW_BITS) & ~w & HIGH_BITS;
      if (zero != 0) return pos + (ctz<u32>(zero) >> 3);
      pos += 4;
    }
  } else {
    while (pos + 4 <= len) {
      const w = load<u32>(path + pos, 0, UNALIGNED) ^ SLASHES;
      const zero = (w - LOW_BITS) & ~w & HIGH_BITS;
      if (zero != 0) return pos + (ctz<u32>(zero) >> 3);
      pos += 4;
    }
  }
  while (pos < len) {
    if (<u32>load<u8>(path + pos) == SLASH) return pos;
    pos++;
  }
  return len;
}

/** First entry of a list with index in [from, best) whose methods accept `method`. */
@inline
function firstInList(list: usize, from: u32, best: u32, method: u32): u32 {
  const count = load<u32>(list);
  let item = list + LIST_HEADER_BYTES;
  const end = item + <usize>count * LIST_ITEM_BYTES;
  while (item < end) {
    const idx = load<u32>(item);
    if (idx >= best) return NO_ENTRY;
    const methods = load<u32>(item, 4);
    if (idx >= from && (methods == 0 || (methods & method) != 0)) return idx;
    item += LIST_ITEM_BYTES;
  }
  return NO_ENTRY;
}

/** Writes `count` captured params (CAPS[0..count)) as the answer's params. */
@inline
function writeParams(count: u32): void {
  store<u32>(PARAMS_OUT, count);
  // A plain loop: few params, and it keeps the module free of bulk-memory ops for wasm2js.
  for (let i: usize = 0; i < <usize>count << 1; i++) {
    store<u32>(PARAMS_OUT + 4 + (i << 2), load<u32>(CAPS + (i << 2)));
  }
}

/**
 * Walks the trie from `root` for the smallest matching entry below `best`; returns the new
 * best. Depth first, static child before param child, without recursion: the param child of
 * each node on the way down is kept on a stack (STACK) and taken when the static side is done.
 * Segments are found on first use and remembered in SEGS, since a backtrack meets them again.
 * State per step: the node, `seg` segments consumed, `depth` params captured, and `pos`, the
 * offset of the '/' before the next segment (== len when the path is consumed).
 */
function walk(root: usize, bestIn: u32): u32 {
  const table = gTable;
  const path = gPath;
  const len = gPathLen;
  const from = gFrom;
  const method = gMethod;
  let best = bestIn;
  let node = root;
  let seg: u32 = 0;
  let depth: u32 = 0;
  let pos: u32 = 0;
  let scanned: u32 = 0;
  let sp: usize = 0;
  while (true) {
    if (load<u32>(node, N_MIN_IDX) < best && load<u32>(node, N_MAX_IDX) >= from) {
      const atEnd = pos == len;
      const restList = load<u32>(node, N_REST_LIST);
      if (restList != 0) {
        const idx = firstInList(table + restList, from, best, method);
        if (idx < best) {
          best = idx;
          // The rest starts after the '/' that follows the consumed segments (empty at the end).
          store<u32>(CAPS + (<usize>depth << 3), atEnd ? len : pos + 1);
          store<u32>(CAPS + (<usize>depth << 3), len, 4);
          writeParams(depth + 1);
        }
      }
      if (atEnd) {
        const endList = load<u32>(node, N_END_LIST);
        if (endList != 0) {
          const idx = firstInList(table + endList, from, best, method);
          if (idx < best) {
            best = idx;
            writeParams(depth);
          }
        }
      } else {
        const segStart = pos + 1;
        let segEnd: u32;
        const at = SEGS + (<usize>seg << 3);
        if (seg < scanned) {
          segEnd = load<u32>(at, 4);
        } else {
          segEnd = nextSlash(path, segStart, len);
          store<u32>(at, segStart);
          store<u32>(at, segEnd, 4);
          scanned = seg + 1;
        }
        const segLen = segEnd - segStart;
        const paramChild = load<u32>(node, N_PARAM_CHILD);
        const slots = load<u32>(node, N_CHILD_SLOTS);
        if (slots == 0) {
          // Only a param child (common in REST tables): take it now, no stack round trip.
          if (paramChild != 0 && segLen > 0) {
            store<u32>(CAPS + (<usize>depth << 3), segStart);
            store<u32>(CAPS + (<usize>depth << 3), segEnd, 4);
            node = table + paramChild;
            seg++;
            depth++;
            pos = segEnd;
            continue;
          }
        } else if (paramChild != 0 && segLen > 0) {
          const entry = STACK + sp * STACK_ENTRY_BYTES;
          store<u32>(entry, <u32>(table + paramChild));
          store<u32>(entry, seg, 4);
          store<u32>(entry, depth, 8);
          sp++;
        }
        if (slots != 0) {
          const mask = load<u32>(node, N_CHILD_MASK);
          const segPtr = path + segStart;
          let i = quickHash(segPtr, segLen) & mask;
          let found: usize = 0;
          while (true) {
            const child = load<u32>(table + slots + (<usize>i << 2));
            if (child == 0) break;
            const c = table + child;
            if (load<u32>(c, N_LABEL_LEN) == segLen && bytesEqual(table + load<u32>(c, N_LABEL_OFF), segPtr, segLen)) {
              found = c;
              break;
            }
            i = (i + 1) & mask;
          }
          if (found != 0) {
            node = found;
            seg++;
            pos = segEnd;
            continue;
          }
        }
      }
    }
    // Backtrack to the deepest param child not taken yet.
    if (sp == 0) break;
    sp--;
    const entry = STACK + sp * STACK_ENTRY_BYTES;
    node = <usize>load<u32>(entry);
    const pseg = load<u32>(entry, 4);
    depth = load<u32>(entry, 8);
    const at = SEGS + (<usize>pseg << 3);
    pos = load<u32>(at, 4);
    store<u32>(CAPS + (<usize>depth << 3), load<u32>(at));
    store<u32>(CAPS + (<usize>depth << 3), pos, 4);
    seg = pseg + 1;
    depth++;
  }
  return best;
}

/** staticLookup's answer for a path that is not one of the group's static paths. */
const NOT_STATIC: i32 = -2;

/**
 * Looks the whole path up in the group's static-path table, whose record for a path lists every
 * entry of the group matching it (params included): the trie has nothing more to say about a
 * path found there. Returns the first listed entry in [from, best) that takes the method, with
 * its params written; STATUS_NO_MATCH when the path is there but no such entry is; NOT_STATIC
 * when the path is not one of the group's static paths.
 */
@inline
function staticLookup(table: usize, group: usize, path: usize, len: u32, from: u32, best: u32, method: u32): i32 {
  const slots = load<u32>(group, G_STATIC_SLOTS);
  if (slots == 0) return NOT_STATIC;
  // Most paths of param routes have a length no static path has: skip the hash.
  const lenBit = min<u32>(len, STATIC_LEN_CAP);
  const lens = table + load<u32>(group, G_STATIC_LENS);
  if ((load<u32>(lens + (<usize>(lenBit >> 5) << 2)) & (<u32>1 << (lenBit & 31))) == 0) return NOT_STATIC;
  const mask = load<u32>(group, G_STATIC_MASK);
  let i = quickHash(path, len) & mask;
  while (true) {
    const r = load<u32>(table + slots + (<usize>i << 2));
    if (r == 0) return NOT_STATIC;
    const rec = table + r;
    if (
      load<u32>(rec, SK_KEY_LEN) == len &&
      (len < 4 ? bytesEqual(table + load<u32>(rec, SK_KEY_OFF), path, len) : bytesEqualLong(table + load<u32>(rec, SK_KEY_OFF), path, len))
    ) {
      let item = rec + SK_ITEMS;
      const end = item + <usize>load<u32>(rec, SK_COUNT) * STATIC_ITEM_BYTES;
      while (item < end) {
        const idx = load<u32>(item, SI_IDX);
        if (idx >= best) break;
        const methods = load<u32>(item, SI_METHODS);
        if (idx >= from && (methods == 0 || (methods & method) != 0)) {
          const count = load<u32>(item, SI_PARAM_COUNT);
          store<u32>(PARAMS_OUT, count);
          const params = table + load<u32>(item, SI_PARAMS);
          for (let k: usize = 0; k < <usize>count << 1; k++) {
            store<u32>(PARAMS_OUT + 4 + (k << 2), load<u32>(params + (k << 2)));
          }
          return <i32>idx;
        }
        item += STATIC_ITEM_BYTES;
      }
      return STATUS_NO_MATCH;
    }
    i = (i + 1) & mask;
  }
  return NOT_STATIC; // not reached: the probe ends at an empty slot
}

function searchGroup(group: usize, segmentsOk: bool): void {
  if (load<u32>(group, G_MIN_IDX) >= gBest || load<u32>(group, G_MAX_IDX) < gFrom) return;
  const root = load<u32>(group, G_ROOT);
  if (root != 0 && segmentsOk) {
    const hit = staticLookup(gTable, group, gPath, gPathLen, gFrom, gBest, gMethod);
    if (hit >= 0) gBest = <u32>hit;
    else if (hit == NOT_STATIC) gBest = walk(gTable + root, gBest);
  }
  const deferred = load<u32>(group, G_DEFERRED);
  if (deferred != 0) {
    const idx = firstInList(gTable + deferred, gFrom, gBest, gMethod);
    if (idx < gBest) {
      gBest = idx;
      store<u32>(PARAMS_OUT, 0);
    }
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

/** Fills the host cache with the groups of (table, host), or leaves it empty (cTable 0). */
function resolveHost(table: usize, host: usize, hostLen: u32): void {
  cTable = 0;
  cCount = 0;
  if (hostLen > HOST_CACHE_BYTES) return;
  let count: u32 = 0;
  const exact = findHostGroup(HOST_EXACT, host, hostLen);
  if (exact != 0) {
    store<u32>(HOST_CACHE_LIST, <u32>exact);
    count++;
  }
  const lensCount = load<u32>(table, H_SUFFIX_LEN_COUNT);
  const lens = table + load<u32>(table, H_SUFFIX_LENS);
  for (let i: u32 = 0; i < lensCount; i++) {
    const suffixLen = load<u32>(lens + (<usize>i << 2));
    // A suffix needs at least one byte of host before it; lengths are ascending.
    if (suffixLen >= hostLen) break;
    const g = findHostGroup(HOST_SUFFIX, host + hostLen - suffixLen, suffixLen);
    if (g != 0) {
      if (count == HOST_CACHE_GROUPS) {
        cCount = 0;
        return;
      }
      store<u32>(HOST_CACHE_LIST + (<usize>count << 2), <u32>g);
      count++;
    }
  }
  for (let i: usize = 0; i < <usize>hostLen; i++) store<u8>(HOST_CACHE + i, load<u8>(host + i));
  cTable = table;
  cHostLen = hostLen;
  cCount = count;
}

/** Searches every host group of (table, host) without the cache. */
function searchHostGroups(table: usize, host: usize, hostLen: u32, segmentsOk: bool): void {
  const exact = findHostGroup(HOST_EXACT, host, hostLen);
  if (exact != 0) searchGroup(exact, segmentsOk);
  const lensCount = load<u32>(table, H_SUFFIX_LEN_COUNT);
  const lens = table + load<u32>(table, H_SUFFIX_LENS);
  for (let i: u32 = 0; i < lensCount; i++) {
    const suffixLen = load<u32>(lens + (<usize>i << 2));
    if (suffixLen >= hostLen) break;
    const g = findHostGroup(HOST_SUFFIX, host + hostLen - suffixLen, suffixLen);
    if (g != 0) searchGroup(g, segmentsOk);
  }
}

/**
 * matchRoute when `group` is the only group that can answer and has no deferred entries: a
 * static path is answered from the group's static table alone (it lists every entry matching
 * that path), and any other path goes straight to the trie.
 */
@inline
function answerFromGroup(table: usize, group: usize, methodBit: u32, path: usize, pathLen: u32, fromIdx: u32): i32 {
  const hit = staticLookup(table, group, path, pathLen, fromIdx, NO_ENTRY, methodBit);
  if (hit != NOT_STATIC) return hit;
  const root = load<u32>(group, G_ROOT);
  if (root == 0 || load<u32>(group, G_MAX_IDX) < fromIdx) return STATUS_NO_MATCH;
  gTable = table;
  gPath = path;
  gPathLen = pathLen;
  gFrom = fromIdx;
  gMethod = methodBit;
  const best = walk(table + root, NO_ENTRY);
  return best == NO_ENTRY ? STATUS_NO_MATCH : <i32>best;
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
 * Params of the answer are written at paramsPtr(): count, then (start, end) byte offsets; a
 * miss leaves that area as it was.
 * The host and path areas must have 3 readable bytes after their ends (the scratch does).
 * @returns the entry index, or STATUS_NO_MATCH (-1).
 */
export function matchRoute(
  table: u32, methodBit: u32, host: u32, hostLen: u32, path: u32, pathLen: u32, from: i32,
): i32 {
  const fromIdx: u32 = from < 0 ? 0 : <u32>from;
  const any = load<u32>(<usize>table, H_ANY_GROUP);
  const hosts = load<u32>(<usize>table, H_HOST_SLOTS) != 0;
  // Fast path: exactly one group can answer (the any-host group of a table without hosts, or
  // the one group of this host in a table without an any-host group) and it has no deferred
  // entries: see answerFromGroup.
  if (!hosts) {
    if (any != 0 && pathLen > 0 && <u32>load<u8>(path) == SLASH && load<u32>(<usize>table + any, G_DEFERRED) == 0) {
      return answerFromGroup(table, <usize>table + any, methodBit, path, pathLen, fromIdx);
    }
  } else if (any == 0) {
    if (cTable != <usize>table || cHostLen != hostLen || !bytesEqual(HOST_CACHE, host, hostLen)) {
      gTable = table;
      resolveHost(table, host, hostLen);
    }
    // No group for this host: nothing can match. Too many groups (cTable 0): the general path.
    if (cTable != 0 && cCount <= 1) {
      if (cCount == 0) return STATUS_NO_MATCH;
      const only = <usize>load<u32>(HOST_CACHE_LIST);
      if (pathLen > 0 && <u32>load<u8>(path) == SLASH && load<u32>(only, G_DEFERRED) == 0) {
        return answerFromGroup(table, only, methodBit, path, pathLen, fromIdx);
      }
    }
  }
  gTable = table;
  gPath = path;
  gPathLen = pathLen;
  gFrom = fromIdx;
  gBest = NO_ENTRY;
  gMethod = methodBit;
  // PARAMS_OUT is written only when an entry is accepted: a miss leaves the last answer's params.
  const segmentsOk = pathLen > 0 && <u32>load<u8>(path) == SLASH;

  if (any != 0) searchGroup(<usize>table + any, segmentsOk);
  if (hosts) {
    if (cTable != <usize>table || cHostLen != hostLen || !bytesEqual(HOST_CACHE, host, hostLen)) {
      resolveHost(table, host, hostLen);
    }
    for (let i: u32 = 0; i < cCount; i++) searchGroup(load<u32>(HOST_CACHE_LIST + (<usize>i << 2)), segmentsOk);
    // Too many groups for the cache (or too long a host): search them as they are found.
    if (cTable == 0) searchHostGroups(table, host, hostLen, segmentsOk);
  }
  return gBest == NO_ENTRY ? STATUS_NO_MATCH : <i32>gBest;
}
