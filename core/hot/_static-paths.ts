// The static paths of a loaded route table, read back out of its blob for the JS side of the
// matcher (HotMatcher's static fast path). Private to core/hot.
//
// Why: a request for a static path is answered by the module from one record of the group's
// static-path table (every entry matching that exact path, params included, see
// compile-route-table.ts), so JS can hold the same records and answer such a request with a
// string comparison, without the crossing and without copying the path in. Only where the
// module itself answers from that record alone, which it does (matcher.ts, answerFromGroup)
// when the table has no host table, has an any-host group, and that group has no deferred
// entries; and only for ASCII paths, whose UTF-8 bytes are their UTF-16 units.
import {
  G_DEFERRED,
  G_STATIC_MASK,
  G_STATIC_SLOTS,
  H_ANY_GROUP,
  H_HOST_SLOTS,
  SI_IDX,
  SI_METHODS,
  SI_PARAM_COUNT,
  SI_PARAMS,
  SK_COUNT,
  SK_ITEMS,
  SK_KEY_LEN,
  SK_KEY_OFF,
  SLASH,
  STATIC_ITEM_BYTES,
} from './_layout.ts';

/** One static path of the table and every entry that matches it, in index order. */
export interface StaticPathRecord {
  readonly path: string;
  /** Per entry: index, method mask (0: every method). */
  readonly items: Uint32Array;
  /** Per entry, the params the module would answer: count, then (start, end) pairs. */
  readonly params: Int32Array[];
}

/** Records grouped by the length of their path: `byLength[path.length]`. */
export type StaticPaths = (StaticPathRecord[] | undefined)[];

/** Paths longer than this are left to the module (the array is indexed by length). */
const MAX_STATIC_PATH_UNITS = 1024;

/**
 * The static-path records of the table at `table` in `u8` (its module's memory), or undefined
 * when the module does not answer static paths from their record alone (see the file comment)
 * or the table has none.
 */
export function readStaticPaths(u8: Uint8Array, table: number): StaticPaths | undefined {
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const u32 = (at: number): number => view.getUint32(at, true);
  if (u32(table + H_HOST_SLOTS) !== 0) return undefined;
  const anyGroup = u32(table + H_ANY_GROUP);
  if (anyGroup === 0) return undefined;
  const group = table + anyGroup;
  if (u32(group + G_DEFERRED) !== 0) return undefined;
  const slots = u32(group + G_STATIC_SLOTS);
  if (slots === 0) return undefined;
  const slotCount = u32(group + G_STATIC_MASK) + 1;
  const records: StaticPathRecord[] = [];
  let longest = 0;
  for (let s = 0; s < slotCount; s++) {
    const r = u32(table + slots + 4 * s);
    if (r === 0) continue;
    const rec = table + r;
    const len = u32(rec + SK_KEY_LEN);
    if (len === 0 || len > MAX_STATIC_PATH_UNITS) continue;
    const key = u8.subarray(table + u32(rec + SK_KEY_OFF), table + u32(rec + SK_KEY_OFF) + len);
    // The module only looks a path up when it starts with '/'; non-ASCII keys are left to it.
    if (key[0] !== SLASH || key.some((b) => b >= 0x80)) continue;
    const count = u32(rec + SK_COUNT);
    const items = new Uint32Array(2 * count);
    const params: Int32Array[] = [];
    for (let k = 0; k < count; k++) {
      const item = rec + SK_ITEMS + k * STATIC_ITEM_BYTES;
      items[2 * k] = u32(item + SI_IDX);
      items[2 * k + 1] = u32(item + SI_METHODS);
      const n = u32(item + SI_PARAM_COUNT);
      const p = new Int32Array(1 + 2 * n);
      p[0] = n;
      const at = table + u32(item + SI_PARAMS);
      for (let j = 0; j < 2 * n; j++) p[1 + j] = u32(at + 4 * j);
      params.push(p);
    }
    records.push({ path: String.fromCharCode(...key), items, params });
    longest = Math.max(longest, len);
  }
  if (records.length === 0) return undefined;
  const byLength: StaticPaths = new Array<StaticPathRecord[] | undefined>(longest + 1).fill(undefined);
  for (const rec of records) {
    const same = byLength[rec.path.length];
    if (same === undefined) byLength[rec.path.length] = [rec];
    else same.push(rec);
  }
  return byLength;
}

/**
 * The position in `rec.items` of the first entry with index >= from that takes `methodBit`,
 * as the module's static lookup chooses it, or -1 when none does (the module's answer is then
 * "no match": the record lists every entry that matches the path).
 */
export function staticAnswer(rec: StaticPathRecord, methodBit: number, from: number): number {
  const items = rec.items;
  // As the module takes it: an i32, and below 0 is 0.
  const from32 = from | 0;
  const fromIdx = from32 < 0 ? 0 : from32;
  for (let k = 0; k < items.length; k += 2) {
    const methods = items[k + 1]!;
    if (items[k]! >= fromIdx && (methods === 0 || (methods & methodBit) !== 0)) return k >> 1;
  }
  return -1;
}
