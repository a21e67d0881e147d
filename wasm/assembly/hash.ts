// XXH64 (Yann Collet's xxHash, 64-bit variant, seed 0) written from the specification:
// https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md
// The result leaves as two u32 at hashOutPtr(), since an i64 would become a BigInt in JS.
import { HASH_OUT } from './memory';

const PRIME64_1: u64 = 0x9e3779b185ebca87;
const PRIME64_2: u64 = 0xc2b2ae3d27d4eb4f;
const PRIME64_3: u64 = 0x165667b19e3779f9;
const PRIME64_4: u64 = 0x85ebca77c2b2ae63;
const PRIME64_5: u64 = 0x27d4eb2f165667c5;
const STRIPE_BYTES: u32 = 32;
/** Keys start anywhere (a host right before its path): loads say so, or wasm2js assumes alignment. */
const UNALIGNED: u32 = 1;

@inline
function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * PRIME64_2, 31) * PRIME64_1;
}

@inline
function mergeRound(acc: u64, val: u64): u64 {
  return (acc ^ round(0, val)) * PRIME64_1 + PRIME64_4;
}

/** XXH64 of `len` bytes at `ptr` with seed (seedLo, seedHi); writes (lo, hi) at hashOutPtr(). */
export function hash64(ptr: u32, len: u32, seedLo: u32, seedHi: u32): i32 {
  const seed: u64 = (<u64>seedHi << 32) | <u64>seedLo;
  let p: usize = ptr;
  const end: usize = <usize>ptr + len;
  let h: u64;
  if (len >= STRIPE_BYTES) {
    let v1 = seed + PRIME64_1 + PRIME64_2;
    let v2 = seed + PRIME64_2;
    let v3 = seed;
    let v4 = seed - PRIME64_1;
    const limit = end - STRIPE_BYTES;
    do {
      v1 = round(v1, load<u64>(p, 0, UNALIGNED));
      v2 = round(v2, load<u64>(p, 8, UNALIGNED));
      v3 = round(v3, load<u64>(p, 16, UNALIGNED));
      v4 = round(v4, load<u64>(p, 24, UNALIGNED));
      p += STRIPE_BYTES;
    } while (p <= limit);
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = seed + PRIME64_5;
  }
  h += <u64>len;
  while (p + 8 <= end) {
    h ^= round(0, load<u64>(p, 0, UNALIGNED));
    h = rotl<u64>(h, 27) * PRIME64_1 + PRIME64_4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= <u64>load<u32>(p, 0, UNALIGNED) * PRIME64_1;
    h = rotl<u64>(h, 23) * PRIME64_2 + PRIME64_3;
    p += 4;
  }
  while (p < end) {
    h ^= <u64>load<u8>(p) * PRIME64_5;
    h = rotl<u64>(h, 11) * PRIME64_1;
    p++;
  }
  h ^= h >> 33;
  h *= PRIME64_2;
  h ^= h >> 29;
  h *= PRIME64_3;
  h ^= h >> 32;
  store<u32>(HASH_OUT, <u32>h);
  store<u32>(HASH_OUT, <u32>(h >> 32), 4);
  return 0;
}
