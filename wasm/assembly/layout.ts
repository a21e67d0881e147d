// Binary layouts shared by the Wasm module and the TypeScript side (core/hot/_layout.ts holds
// the same numbers; the differential tests fail if the two ever disagree).

/** Route-table blob magic: "PRT1" little-endian. */
export const TABLE_MAGIC: u32 = 0x31545250;
export const TABLE_VERSION: u32 = 1;

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
export const HEADER_BYTES: u32 = 40;

// Host group fields.
export const G_KIND: usize = 0;
export const G_KEY_LEN: usize = 4;
export const G_KEY_OFF: usize = 8;
export const G_ROOT: usize = 12;
export const G_DEFERRED: usize = 16;
export const G_MIN_IDX: usize = 20;
export const G_MAX_IDX: usize = 24;

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

/** FNV-1a 32-bit, used for the host and segment hash tables inside the blob. */
export const FNV_OFFSET: u32 = 0x811c9dc5;
export const FNV_PRIME: u32 = 0x01000193;

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
