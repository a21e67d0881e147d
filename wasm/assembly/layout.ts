// Binary layouts shared by the Wasm module and the TypeScript side (core/hot/_layout.ts holds
// the same numbers; the differential tests fail if the two ever disagree).

/** Route-table blob magic: "PRT1" little-endian. */
export const TABLE_MAGIC: u32 = 0x31545250;
export const TABLE_VERSION: u32 = 5;

// Header fields (byte offsets from the blob start). All fields are u32 little-endian.
export const H_MAGIC: usize = 0;
export const H_VERSION: usize = 4;
export const H_TOTAL_BYTES: usize = 8;
export const H_ENTRY_COUNT: usize = 12;
export const H_ANY_GROUP: usize = 16;
export const H_HOST_MASK: usize = 20;
export const H_HOST_SLOTS: usize = 24;
export const H_SUFFIX_LEN_COUNT: usize = 28;
export const H_SUFFIX_LENS: usize = 32;
export const H_FLAGS: usize = 36;
export const H_MAX_DEPTH: usize = 40; // most segments in any segments pattern
export const HEADER_BYTES: u32 = 44;

// Host group fields.
export const G_KIND: usize = 0;
export const G_KEY_LEN: usize = 4;
export const G_KEY_OFF: usize = 8;
export const G_ROOT: usize = 12;
export const G_DEFERRED: usize = 16;
export const G_MIN_IDX: usize = 20;
export const G_MAX_IDX: usize = 24;
export const G_STATIC_MASK: usize = 28;
export const G_STATIC_SLOTS: usize = 32; // hash table of whole static paths (0: none)
export const G_STATIC_LENS: usize = 36; // 256-bit set of their byte lengths (255: 255 or more)
export const STATIC_LEN_CAP: u32 = 255;

// Static-path record: the whole path, then every entry of the group that matches it.
export const SK_KEY_LEN: usize = 0;
export const SK_KEY_OFF: usize = 4;
export const SK_COUNT: usize = 8;
export const SK_ITEMS: usize = 12;
// Static-path item: entry index, method mask, param count, offset of (start, end) u32 pairs.
export const SI_IDX: usize = 0;
export const SI_METHODS: usize = 4;
export const SI_PARAM_COUNT: usize = 8;
export const SI_PARAMS: usize = 12;
export const STATIC_ITEM_BYTES: usize = 16;

export const HOST_ANY: u32 = 0;
export const HOST_EXACT: u32 = 1;
export const HOST_SUFFIX: u32 = 2;

// Trie node fields.
export const N_MIN_IDX: usize = 0;
export const N_MAX_IDX: usize = 4;
export const N_LABEL_LEN: usize = 8;
export const N_LABEL_OFF: usize = 12;
export const N_CHILD_MASK: usize = 16;
export const N_CHILD_SLOTS: usize = 20;
export const N_PARAM_CHILD: usize = 24;
export const N_END_LIST: usize = 28;
export const N_REST_LIST: usize = 32;

// Entry lists: u32 count, then (u32 entry index, u32 method mask) pairs sorted by index.
export const LIST_HEADER_BYTES: usize = 4;
export const LIST_ITEM_BYTES: usize = 8;

/** MurmurHash3 x86_32 (seed 0) constants: the host and segment hash tables of the blob. */
export const MURMUR_C1: u32 = 0xcc9e2d51;
export const MURMUR_C2: u32 = 0x1b873593;
export const MURMUR_N: u32 = 0xe6546b64;
export const MURMUR_F1: u32 = 0x85ebca6b;
export const MURMUR_F2: u32 = 0xc2b2ae35;

/** Most segments a pattern may have; the request path is split into at most one more. */
export const MAX_SEGMENTS: u32 = 255;

/** Most params one match can capture (the rest counts as one). */
export const MAX_PARAMS: u32 = 64;

/** "No entry": larger than every entry index. */
export const NO_ENTRY: u32 = 0xffffffff;

// Status codes (negative results of matchRoute and bucket calls).
export const STATUS_NO_MATCH: i32 = -1;
export const STATUS_BAD_TABLE: i32 = -2;
export const STATUS_BAD_ARGUMENT: i32 = -3;

export const SLASH: u32 = 0x2f;

// Token-bucket table: header, then `capacity` slots.
export const B_CAPACITY: usize = 0;
export const B_MASK: usize = 4;
export const B_MAGIC: usize = 8;
export const B_CLOCK: usize = 16; // f64 use counter for least-recently-used eviction
export const BUCKET_HEADER_BYTES: u32 = 24;
export const BUCKET_MAGIC: u32 = 0x314b5442; // "BTK1"
export const S_KEY_LO: usize = 0;
export const S_KEY_HI: usize = 4;
export const S_USED: usize = 8;
export const S_TOKENS: usize = 16; // f64
export const S_STAMP: usize = 24; // f64, time of the last refill in ms
export const S_TOUCHED: usize = 32; // f64, table clock at the last use
export const BUCKET_SLOT_BYTES: u32 = 40;
/** Slots probed from a key's home slot; eviction picks the least recently used among them. */
export const PROBE_WINDOW: u32 = 8;
export const MIN_BUCKET_CAPACITY: u32 = 8;
export const MAX_BUCKET_CAPACITY: u32 = 1 << 24;
