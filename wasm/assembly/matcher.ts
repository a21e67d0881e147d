// Route matcher over a compiled route table (format: core/hot/compile-route-table.ts).
// The answer is the smallest entry index >= from whose host, methods and path match. Every
// candidate group and trie branch is searched, pruned by the [min, max] entry index that each
// group and node records, so that precedence never depends on the shape of the trie.
import {
  TABLE_MAGIC, TABLE_VERSION, HEADER_BYTES, H_MAGIC, H_VERSION, H_TOTAL_BYTES, H_ANY_GROUP, H_HOST_MASK, H_HOST_SLOTS,
  H_SUFFIX_LEN_COUNT, H_SUFFIX_LENS, G_KIND, G_KEY_LEN, G_KEY_OFF, G_ROOT, G_DEFERRED, G_MIN_IDX,
  G_MAX_IDX, HOST_EXACT, HOST_SUFFIX, N_MIN_IDX, N_MAX_IDX, N_LABEL_LEN, N_LABEL_OFF,
  N_CHILD_MASK, N_CHILD_SLOTS, N_PARAM_CHILD, N_END_LIST, N_REST_LIST, LIST_HEADER_BYTES,
  LIST_ITEM_BYTES, FNV_OFFSET, FNV_PRIME, NO_ENTRY, STATUS_NO_MATCH, STATUS_BAD_TABLE, SLASH,
} from './layout';
import { PARAMS_OUT, CAPS } from './memory';

// Per-call search state. Globals, so the recursive search passes only what changes.
let gTable: usize = 0;
let gPath: usize = 0;
let gPathLen: u32 = 0;
let gFrom: u32 = 0;
let gBest: u32 = NO_ENTRY;
let gMethod: u32 = 0;

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

@inline
function bytesEqual(a: usize, b: usize, len: u32): bool {
  for (let i: usize = 0; i < <usize>len; i++) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
  }
  return true;
}

/**
 * Visits trie node `node` with the path consumed up to byte `p` (p is at a '/' or at the end).
 * `depth` is the number of params captured so far.
 */
function visit(node: usize, p: u32, depth: u32): void {
  if (load<u32>(node, N_MIN_IDX) >= gBest || load<u32>(node, N_MAX_IDX) < gFrom) return;
  const table = gTable;
  const path = gPath;
  const len = gPathLen;

  const restList = load<u32>(node, N_REST_LIST);
  if (restList != 0) {
    const idx = firstInList(table + restList);
    if (idx < gBest) {
      // The rest starts after the '/' that follows the consumed segments (empty at the end).
      const start: u32 = p == len ? len : p + 1;
      store<u32>(CAPS + (<usize>depth << 3), start);
      store<u32>(CAPS + (<usize>depth << 3), len, 4);
      accept(idx, depth + 1);
    }
  }
  if (p == len) {
    const endList = load<u32>(node, N_END_LIST);
    if (endList != 0) {
      const idx = firstInList(table + endList);
      if (idx < gBest) accept(idx, depth);
    }
    return;
  }

  // Next segment: bytes (p, q), hashed while scanning for its end.
  const segStart: u32 = p + 1;
  let q: u32 = segStart;
  let h: u32 = FNV_OFFSET;
  while (q < len) {
    const c = <u32>load<u8>(path + q);
    if (c == SLASH) break;
    h = (h ^ c) * FNV_PRIME;
    q++;
  }
  const segLen = q - segStart;

  const slots = load<u32>(node, N_CHILD_SLOTS);
  if (slots != 0) {
    const mask = load<u32>(node, N_CHILD_MASK);
    let i = h & mask;
    while (true) {
      const child = load<u32>(table + slots + (<usize>i << 2));
      if (child == 0) break;
      const c = table + child;
      if (load<u32>(c, N_LABEL_LEN) == segLen &&
          bytesEqual(table + load<u32>(c, N_LABEL_OFF), path + segStart, segLen)) {
        visit(c, q, depth);
        break;
      }
      i = (i + 1) & mask;
    }
  }
  const paramChild = load<u32>(node, N_PARAM_CHILD);
  if (paramChild != 0 && segLen > 0) {
    store<u32>(CAPS + (<usize>depth << 3), segStart);
    store<u32>(CAPS + (<usize>depth << 3), q, 4);
    visit(table + paramChild, q, depth + 1);
  }
}

function searchGroup(group: usize, segmentsOk: bool): void {
  if (load<u32>(group, G_MIN_IDX) >= gBest || load<u32>(group, G_MAX_IDX) < gFrom) return;
  const root = load<u32>(group, G_ROOT);
  if (root != 0 && segmentsOk) visit(gTable + root, 0, 0);
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
  if (slots == 0) return 0;
  const mask = load<u32>(table, H_HOST_MASK);
  let h: u32 = FNV_OFFSET;
  for (let i: usize = 0; i < <usize>keyLen; i++) h = (h ^ <u32>load<u8>(key + i)) * FNV_PRIME;
  let i = h & mask;
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
      load<u32>(table, H_VERSION) != TABLE_VERSION || load<u32>(table, H_TOTAL_BYTES) != len) {
    return STATUS_BAD_TABLE;
  }
  return 0;
}

/**
 * Finds the first entry at index `from` or later of the table at `table` that matches.
 * Params of the answer are written at paramsPtr(): count, then (start, end) byte offsets.
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
