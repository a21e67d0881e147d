// Linear-memory management: a bump region for long-lived data (route tables, bucket tables,
// scratch areas) and fixed static output areas. Nothing here runs per request.
import { MAX_PARAMS, MAX_SEGMENTS } from './layout';

const PAGE_SHIFT: u32 = 16;
const REGION_ALIGN: usize = 16;
const MAX_ADDRESS: usize = 0xfff00000;

/** Param output: u32 count, then (start, end) u32 pairs. */
export const PARAMS_OUT: usize = memory.data(<i32>(4 + 8 * MAX_PARAMS), 16);
/** Param captures along the current trie path, indexed by param number. */
export const CAPS: usize = memory.data(<i32>(8 * MAX_PARAMS), 16);
/** The request path split into segments: (start, end) u32 byte offsets per segment. */
export const SEGS: usize = memory.data(<i32>(8 * (MAX_SEGMENTS + 1)), 16);
/** Pending param branches of the trie walk: (node, segment index, param depth) u32 triples. */
export const STACK_ENTRY_BYTES: usize = 12;
export const STACK: usize = memory.data(<i32>(STACK_ENTRY_BYTES * (MAX_SEGMENTS + 1)), 16);
/** Hash output: low u32 then high u32. */
export const HASH_OUT: usize = memory.data(8, 16);
/** Bucket output: remaining f64, then waitMs f64. */
export const BUCKET_OUT: usize = memory.data(16, 16);

let heapTop: usize = 0;

/**
 * Reserves `bytes` of zeroed linear memory for the lifetime of the instance (tables, scratch).
 * Grows memory when needed, which detaches JS views of the old buffer.
 * @returns the 16-aligned pointer, or 0 when memory cannot grow.
 */
export function reserve(bytes: u32): u32 {
  if (heapTop == 0) heapTop = (__heap_base + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
  const start = heapTop;
  const size = (<usize>bytes + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1);
  if (size > MAX_ADDRESS - start) return 0;
  const end = start + size;
  const have = <usize>memory.size() << PAGE_SHIFT;
  if (end > have) {
    const need = <i32>(((end - have) + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT);
    if (memory.grow(need) < 0) return 0;
  }
  heapTop = end;
  return <u32>start;
}

export function paramsPtr(): u32 {
  return <u32>PARAMS_OUT;
}
export function hashOutPtr(): u32 {
  return <u32>HASH_OUT;
}
export function bucketOutPtr(): u32 {
  return <u32>BUCKET_OUT;
}
