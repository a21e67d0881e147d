/**
 * Cache-key hashing: XXH64 (seed 0) of the key's UTF-8 bytes, computed in the hot path.
 * 64 bits make accidental collisions rare, not impossible: a cache must still compare the
 * full key it stored before serving an entry.
 *
 * @example
 * hashKey(hot, 'abc'); // '44bc2cf5ad770999'
 */
import type { HotExports } from './types.ts';
import { hotState, writeStr } from './_hot-state.ts';

/**
 * Hashes `key` into `out`: out[0] = low 32 bits, out[1] = high 32 bits. No allocation.
 * @returns `out`
 */
export function hashKeyInto(hot: HotExports, key: string, out: Uint32Array): Uint32Array {
  const st = hotState(hot);
  const len = writeStr(st, key);
  hot.hash64(st.strPtr, len, 0, 0);
  const u32 = st.u32;
  out[0] = u32[st.hashOutPtr >>> 2]!;
  out[1] = u32[(st.hashOutPtr >>> 2) + 1]!;
  return out;
}

const HEX_WORD = 8;
const words = new Uint32Array(2);

/** The 64-bit hash of two u32 words as 16 lower-case hex digits (high word first). */
export function hashWordsToHex(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(HEX_WORD, '0') + (lo >>> 0).toString(16).padStart(HEX_WORD, '0');
}

/** XXH64 of the UTF-8 bytes of `key`, as 16 lower-case hex digits. */
export function hashKey(hot: HotExports, key: string): string {
  hashKeyInto(hot, key, words);
  return hashWordsToHex(words[0]!, words[1]!);
}
