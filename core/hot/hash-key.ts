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

const words = new Uint32Array(2);

/** Char code of the hex digit of nibble `n` (0..15), lower case. */
const hexCode = (n: number): number => n + (n < 10 ? 48 : 87);

/**
 * The 64-bit hash of two u32 words as 16 lower-case hex digits (high word first). One
 * fromCharCode: `toString(16)` and `padStart` cost about 600 ns a key on Node 20.
 */
export function hashWordsToHex(lo: number, hi: number): string {
  return String.fromCharCode(
    hexCode((hi >>> 28) & 15),
    hexCode((hi >>> 24) & 15),
    hexCode((hi >>> 20) & 15),
    hexCode((hi >>> 16) & 15),
    hexCode((hi >>> 12) & 15),
    hexCode((hi >>> 8) & 15),
    hexCode((hi >>> 4) & 15),
    hexCode(hi & 15),
    hexCode((lo >>> 28) & 15),
    hexCode((lo >>> 24) & 15),
    hexCode((lo >>> 20) & 15),
    hexCode((lo >>> 16) & 15),
    hexCode((lo >>> 12) & 15),
    hexCode((lo >>> 8) & 15),
    hexCode((lo >>> 4) & 15),
    hexCode(lo & 15),
  );
}

/** XXH64 of the UTF-8 bytes of `key`, as 16 lower-case hex digits. */
export function hashKey(hot: HotExports, key: string): string {
  hashKeyInto(hot, key, words);
  return hashWordsToHex(words[0]!, words[1]!);
}
