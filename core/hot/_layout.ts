// Binary layouts of the hot path. Mirrors wasm/assembly/layout.ts field for field (AssemblyScript
// cannot import TypeScript outside its tree); the differential tests fail if they disagree.

export const TABLE_MAGIC = 0x31545250; // "PRT1"
export const TABLE_VERSION = 5;

export const H_MAGIC = 0;
export const H_VERSION = 4;
export const H_TOTAL_BYTES = 8;
export const H_ENTRY_COUNT = 12;
export const H_ANY_GROUP = 16;
export const H_HOST_MASK = 20;
export const H_HOST_SLOTS = 24;
export const H_SUFFIX_LEN_COUNT = 28;
export const H_SUFFIX_LENS = 32;
export const H_FLAGS = 36;
export const H_MAX_DEPTH = 40;
export const HEADER_BYTES = 44;
/** H_FLAGS bit: some entry names a host, so the host must be written for each match. */
export const FLAG_HOSTS = 1;

export const G_KIND = 0;
export const G_KEY_LEN = 4;
export const G_KEY_OFF = 8;
export const G_ROOT = 12;
export const G_DEFERRED = 16;
export const G_MIN_IDX = 20;
export const G_MAX_IDX = 24;
export const G_STATIC_MASK = 28;
export const G_STATIC_SLOTS = 32;
export const G_STATIC_LENS = 36;
export const STATIC_LEN_CAP = 255;
export const STATIC_LENS_BYTES = 32;
export const GROUP_BYTES = 40;

export const SK_KEY_LEN = 0;
export const SK_KEY_OFF = 4;
export const SK_COUNT = 8;
export const SK_ITEMS = 12;
export const SI_IDX = 0;
export const SI_METHODS = 4;
export const SI_PARAM_COUNT = 8;
export const SI_PARAMS = 12;
export const STATIC_ITEM_BYTES = 16;

export const HOST_ANY = 0;
export const HOST_EXACT = 1;
export const HOST_SUFFIX = 2;

export const N_MIN_IDX = 0;
export const N_MAX_IDX = 4;
export const N_LABEL_LEN = 8;
export const N_LABEL_OFF = 12;
export const N_CHILD_MASK = 16;
export const N_CHILD_SLOTS = 20;
export const N_PARAM_CHILD = 24;
export const N_END_LIST = 28;
export const N_REST_LIST = 32;
export const NODE_BYTES = 36;

export const LIST_HEADER_BYTES = 4;
export const LIST_ITEM_BYTES = 8;

export const MURMUR_C1 = 0xcc9e2d51;
export const MURMUR_C2 = 0x1b873593;
export const MURMUR_N = 0xe6546b64;
export const MURMUR_F1 = 0x85ebca6b;
export const MURMUR_F2 = 0xc2b2ae35;

export const MAX_SEGMENTS = 255;
export const MAX_PARAMS = 64;
export const NO_ENTRY = 0xffffffff;

export const STATUS_NO_MATCH = -1;
export const STATUS_BAD_TABLE = -2;
export const STATUS_BAD_ARGUMENT = -3;

export const SLASH = 0x2f;

export const B_CAPACITY = 0;
export const B_MASK = 4;
export const B_MAGIC = 8;
export const B_CLOCK = 16;
export const BUCKET_HEADER_BYTES = 24;
export const BUCKET_MAGIC = 0x314b5442; // "BTK1"
export const S_KEY_LO = 0;
export const S_KEY_HI = 4;
export const S_USED = 8;
export const S_TOKENS = 16;
export const S_STAMP = 24;
export const S_TOUCHED = 32;
export const BUCKET_SLOT_BYTES = 40;
export const PROBE_WINDOW = 8;
export const MIN_BUCKET_CAPACITY = 8;
export const MAX_BUCKET_CAPACITY = 1 << 24;

export const QUICK_MUL = 0x85ebca6b;

function word(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
}

/**
 * The cheap hash of segments and whole static paths (see quickHash in wasm/assembly/matcher.ts):
 * first, middle and last 4 bytes and the length, one multiply.
 */
export function quickHash(bytes: Uint8Array, start: number, len: number): number {
  let h: number;
  if (len >= 4) {
    h = word(bytes, start) ^ rotl32(word(bytes, start + len - 4), 11) ^ rotl32(word(bytes, start + (len >> 1) - 2), 22);
  } else {
    h = 0;
    for (let j = len - 1; j >= 0; j--) h = (h << 8) | bytes[start + j]!;
  }
  h = Math.imul(h ^ len, QUICK_MUL);
  return (h ^ (h >>> 15)) >>> 0;
}

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/**
 * MurmurHash3 x86_32 with seed 0 of bytes [start, start + len) of `bytes`: the hash of the
 * blob's host and segment tables (the Wasm computes it over linear memory).
 */
export function murmur3(bytes: Uint8Array, start: number, len: number): number {
  let h = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const at = start + i;
    let k = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
    k = Math.imul(rotl32(Math.imul(k, MURMUR_C1), 15), MURMUR_C2);
    h = (Math.imul(rotl32(h ^ k, 13), 5) + MURMUR_N) | 0;
  }
  const tail = len - i;
  if (tail !== 0) {
    let k = 0;
    for (let j = tail - 1; j >= 0; j--) k = (k << 8) | bytes[start + i + j]!;
    k = Math.imul(rotl32(Math.imul(k, MURMUR_C1), 15), MURMUR_C2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, MURMUR_F1);
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR_F2);
  h ^= h >>> 16;
  return h >>> 0;
}
