/**
 * Compiles a route table into the binary blob that the hot-path matcher reads in place.
 *
 * Blob format (version 5). Every field is a little-endian u32 at a 4-aligned offset; every
 * "offset" is relative to the blob start, and 0 means "none".
 *
 * - Header (40 B): magic "PRT1", version, total bytes, entry count, offset of the any-host
 *   group, host hash mask, offset of the host hash slots, count and offset of the distinct
 *   suffix lengths (ascending), flags (bit 0: some entry names a host), the most segments
 *   of any pattern (the matcher splits the request path into at most one more).
 * - Host hash table: open addressing (linear probing) over MurmurHash3 x86_32 of the host key; each
 *   slot holds a group offset. Exact hosts are keyed by the host, suffix hosts by the suffix;
 *   a request host is looked up once as exact, and once per distinct suffix length as suffix.
 * - Group (40 B): kind (0 any, 1 exact, 2 suffix), key length and offset, root trie node,
 *   deferred-entry list, min and max entry index in the group, a hash table (mask, slots)
 *   of its whole static paths (quickHash of the path) and the set of their byte lengths
 *   (256 bits; 255 stands for 255 or more), so most non-static paths skip the hash.
 * - Static path record: the path (length, offset) and every entry of the group that matches
 *   that exact path, static or not, in index order, each with its method mask and its param
 *   offsets precomputed: a request for a static path is one hash lookup, no trie walk.
 * - Trie node (36 B): min and max entry index in its subtree (to prune the search), its
 *   segment label (length, offset), a hash table of static children (mask, slots offset;
 *   quickHash of the segment: first, middle and last 4 bytes and length), the param child,
 *   the list of entries ending here, the list of entries whose rest starts here.
 * - Entry list: count, then (entry index, method mask) pairs in ascending index.
 *
 * The matcher tries the static-path table of each group first and walks the trie only when
 * the path is not one of them. It searches the any-host group, the exact-host group and every suffix group that
 * applies, and returns the smallest index >= from; the per-node [min, max] ranges cut away
 * subtrees that cannot hold a better answer, so `from` costs nothing when it is 0.
 *
 * @example
 * const blob = compileRouteTable([
 *   { host: { kind: 'any' }, methods: METHOD_BITS.GET,
 *     path: { kind: 'segments', segments: [{ kind: 'static', value: 'users' }, { kind: 'param' }], rest: false } },
 * ]);
 */
import type { TableEntry } from './types.ts';
import {
  TABLE_MAGIC,
  TABLE_VERSION,
  H_MAGIC,
  H_VERSION,
  H_TOTAL_BYTES,
  H_ENTRY_COUNT,
  H_ANY_GROUP,
  H_HOST_MASK,
  H_HOST_SLOTS,
  H_SUFFIX_LEN_COUNT,
  H_SUFFIX_LENS,
  H_FLAGS,
  HEADER_BYTES,
  FLAG_HOSTS,
  G_KIND,
  G_KEY_LEN,
  G_KEY_OFF,
  G_ROOT,
  G_DEFERRED,
  G_MIN_IDX,
  G_MAX_IDX,
  G_STATIC_MASK,
  G_STATIC_SLOTS,
  G_STATIC_LENS,
  STATIC_LEN_CAP,
  STATIC_LENS_BYTES,
  GROUP_BYTES,
  SK_KEY_LEN,
  SK_KEY_OFF,
  SK_COUNT,
  SK_ITEMS,
  SI_IDX,
  SI_METHODS,
  SI_PARAM_COUNT,
  SI_PARAMS,
  STATIC_ITEM_BYTES,
  HOST_ANY,
  HOST_EXACT,
  HOST_SUFFIX,
  N_MIN_IDX,
  N_MAX_IDX,
  N_LABEL_LEN,
  N_LABEL_OFF,
  N_CHILD_MASK,
  N_CHILD_SLOTS,
  N_PARAM_CHILD,
  N_END_LIST,
  N_REST_LIST,
  NODE_BYTES,
  LIST_HEADER_BYTES,
  LIST_ITEM_BYTES,
  MAX_PARAMS,
  MAX_SEGMENTS,
  H_MAX_DEPTH,
  murmur3,
  quickHash,
} from './_layout.ts';

/** Entries above this count would not fit the u32 "no entry" sentinel comfortably. */
const MAX_ENTRIES = 0x7fffffff;
const METHOD_MASK_LIMIT = 0xffffffff;

type ListItem = [index: number, methods: number];

interface TrieNode {
  label: Uint8Array;
  children: Map<string, TrieNode>;
  param: TrieNode | undefined;
  end: ListItem[];
  rest: ListItem[];
  min: number;
  max: number;
}

interface GroupBuild {
  kind: number;
  key: Uint8Array;
  root: TrieNode | undefined;
  /** Whole paths of the group's all-static patterns: each gets a precomputed answer list. */
  staticPaths: Set<string>;
  deferred: ListItem[];
  min: number;
  max: number;
}

const encoder = new TextEncoder();

function newNode(label: Uint8Array): TrieNode {
  return { label, children: new Map(), param: undefined, end: [], rest: [], min: Infinity, max: -1 };
}

function widen(range: { min: number; max: number }, index: number): void {
  if (index < range.min) range.min = index;
  if (index > range.max) range.max = index;
}

/** Smallest power of two >= 2 * count (at least 2): keeps linear probes short. */
function slotCount(count: number): number {
  let n = 2;
  while (n < count * 2) n *= 2;
  return n;
}

class BlobWriter {
  bytes = new Uint8Array(1024);
  view = new DataView(this.bytes.buffer);
  size = 0;

  /** Reserves `n` zeroed bytes at a 4-aligned offset. */
  alloc(n: number): number {
    const at = (this.size + 3) & ~3;
    const end = at + n;
    if (end > this.bytes.length) {
      let cap = this.bytes.length * 2;
      while (cap < end) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.bytes);
      this.bytes = next;
      this.view = new DataView(next.buffer);
    }
    this.size = end;
    return at;
  }

  u32(at: number, value: number): void {
    this.view.setUint32(at, value, true);
  }

  blob(data: Uint8Array): number {
    const at = this.alloc(data.length);
    this.bytes.set(data, at);
    return at;
  }

  list(items: ListItem[]): number {
    if (items.length === 0) return 0;
    items.sort((a, b) => a[0] - b[0]);
    const at = this.alloc(LIST_HEADER_BYTES + items.length * LIST_ITEM_BYTES);
    this.u32(at, items.length);
    items.forEach(([index, methods], i) => {
      this.u32(at + LIST_HEADER_BYTES + i * LIST_ITEM_BYTES, index);
      this.u32(at + LIST_HEADER_BYTES + i * LIST_ITEM_BYTES + 4, methods);
    });
    return at;
  }

  node(node: TrieNode): number {
    const at = this.alloc(NODE_BYTES);
    this.u32(at + N_MIN_IDX, node.min);
    this.u32(at + N_MAX_IDX, node.max);
    this.u32(at + N_LABEL_LEN, node.label.length);
    this.u32(at + N_LABEL_OFF, node.label.length > 0 ? this.blob(node.label) : 0);
    if (node.children.size > 0) {
      const slots = slotCount(node.children.size);
      const mask = slots - 1;
      const table = this.alloc(slots * 4);
      this.u32(at + N_CHILD_MASK, mask);
      this.u32(at + N_CHILD_SLOTS, table);
      for (const child of node.children.values()) {
        const childAt = this.node(child);
        let i = quickHash(child.label, 0, child.label.length) & mask;
        while (this.view.getUint32(table + i * 4, true) !== 0) i = (i + 1) & mask;
        this.u32(table + i * 4, childAt);
      }
    }
    if (node.param) this.u32(at + N_PARAM_CHILD, this.node(node.param));
    this.u32(at + N_END_LIST, this.list(node.end));
    this.u32(at + N_REST_LIST, this.list(node.rest));
    return at;
  }

  /** The hash table of whole static paths: per path, every entry of the group matching it. */
  staticTable(group: GroupBuild): [mask: number, slots: number, lens: number] {
    const root = group.root;
    if (!root || group.staticPaths.size === 0) return [0, 0, 0];
    const slots = slotCount(group.staticPaths.size);
    const mask = slots - 1;
    const table = this.alloc(slots * 4);
    const lens = this.alloc(STATIC_LENS_BYTES);
    for (const path of group.staticPaths) {
      const key = encoder.encode(path);
      const bit = Math.min(key.length, STATIC_LEN_CAP);
      const word = lens + (bit >>> 5) * 4;
      this.u32(word, (this.view.getUint32(word, true) | (1 << (bit & 31))) >>> 0);
      const matches = collectMatches(root, path);
      const rec = this.alloc(SK_ITEMS + matches.length * STATIC_ITEM_BYTES);
      this.u32(rec + SK_KEY_LEN, key.length);
      this.u32(rec + SK_KEY_OFF, this.blob(key));
      this.u32(rec + SK_COUNT, matches.length);
      matches.forEach((m, i) => {
        const item = rec + SK_ITEMS + i * STATIC_ITEM_BYTES;
        this.u32(item + SI_IDX, m.index);
        this.u32(item + SI_METHODS, m.methods);
        this.u32(item + SI_PARAM_COUNT, m.params.length);
        if (m.params.length > 0) {
          const at = this.alloc(m.params.length * 8);
          m.params.forEach(([start, end], j) => {
            this.u32(at + j * 8, start);
            this.u32(at + j * 8 + 4, end);
          });
          this.u32(item + SI_PARAMS, at);
        }
      });
      let i = quickHash(key, 0, key.length) & mask;
      while (this.view.getUint32(table + i * 4, true) !== 0) i = (i + 1) & mask;
      this.u32(table + i * 4, rec);
    }
    return [mask, table, lens];
  }

  group(group: GroupBuild): number {
    const at = this.alloc(GROUP_BYTES);
    const [staticMask, staticSlots, staticLens] = this.staticTable(group);
    this.u32(at + G_STATIC_MASK, staticMask);
    this.u32(at + G_STATIC_SLOTS, staticSlots);
    this.u32(at + G_STATIC_LENS, staticLens);
    this.u32(at + G_KIND, group.kind);
    this.u32(at + G_KEY_LEN, group.key.length);
    this.u32(at + G_KEY_OFF, group.key.length > 0 ? this.blob(group.key) : 0);
    this.u32(at + G_ROOT, group.root ? this.node(group.root) : 0);
    this.u32(at + G_DEFERRED, this.list(group.deferred));
    this.u32(at + G_MIN_IDX, group.min);
    this.u32(at + G_MAX_IDX, group.max);
    return at;
  }
}

interface StaticMatch {
  index: number;
  methods: number;
  /** (start, end) UTF-8 byte offsets into the path. */
  params: [number, number][];
}

/**
 * Every entry of a trie that matches `path` (a concrete path), with its captures: the answer
 * list that the matcher reads for a static path instead of walking the trie.
 */
function collectMatches(root: TrieNode, path: string): StaticMatch[] {
  const segs = path.slice(1).split('/');
  const starts: number[] = [];
  const ends: number[] = [];
  let at = 1;
  for (const seg of segs) {
    starts.push(at);
    at += encoder.encode(seg).length;
    ends.push(at);
    at += 1;
  }
  const pathLen = at - 1;
  const out: StaticMatch[] = [];
  const walk = (node: TrieNode, i: number, caps: [number, number][]): void => {
    for (const [index, methods] of node.rest) {
      out.push({ index, methods, params: [...caps, i < segs.length ? [starts[i]!, pathLen] : [pathLen, pathLen]] });
    }
    if (i === segs.length) {
      for (const [index, methods] of node.end) out.push({ index, methods, params: caps });
      return;
    }
    const child = node.children.get(segs[i]!);
    if (child) walk(child, i + 1, caps);
    if (node.param && segs[i] !== '') walk(node.param, i + 1, [...caps, [starts[i]!, ends[i]!]]);
  };
  walk(root, 0, []);
  return out.sort((a, b) => a.index - b.index);
}

function checkEntry(entry: TableEntry, index: number): void {
  const where = `route table entry ${index}`;
  if (!Number.isInteger(entry.methods) || entry.methods < 0 || entry.methods > METHOD_MASK_LIMIT) {
    throw new RangeError(`${where}: methods must be a u32 bit mask, got ${entry.methods}`);
  }
  if (entry.path.kind === 'segments') {
    let params = entry.path.rest ? 1 : 0;
    for (const s of entry.path.segments) if (s.kind === 'param') params++;
    if (entry.path.segments.length > MAX_SEGMENTS) {
      throw new RangeError(`${where}: ${entry.path.segments.length} segments, at most ${MAX_SEGMENTS} are supported`);
    }
    if (params > MAX_PARAMS) {
      throw new RangeError(`${where}: ${params} params, at most ${MAX_PARAMS} are supported`);
    }
  }
}

/**
 * Compiles `entries` (in precedence order) into a route-table blob for createMatcher.
 * Pure and deterministic; throws RangeError for an entry the matcher cannot represent.
 */
export function compileRouteTable(entries: readonly TableEntry[]): Uint8Array {
  if (entries.length > MAX_ENTRIES) throw new RangeError(`route table: too many entries (${entries.length})`);
  const groups = new Map<string, GroupBuild>();
  let any: GroupBuild | undefined;
  let maxDepth = 0;

  entries.forEach((entry, index) => {
    checkEntry(entry, index);
    let group: GroupBuild | undefined;
    if (entry.host.kind === 'any') {
      group = any ??= {
        kind: HOST_ANY,
        key: new Uint8Array(0),
        root: undefined,
        staticPaths: new Set(),
        deferred: [],
        min: Infinity,
        max: -1,
      };
    } else {
      const kind = entry.host.kind === 'exact' ? HOST_EXACT : HOST_SUFFIX;
      const id = `${kind}:${entry.host.value}`;
      group = groups.get(id);
      if (!group) {
        group = {
          kind,
          key: encoder.encode(entry.host.value),
          root: undefined,
          staticPaths: new Set(),
          deferred: [],
          min: Infinity,
          max: -1,
        };
        groups.set(id, group);
      }
    }
    widen(group, index);
    const item: ListItem = [index, entry.methods >>> 0];
    if (entry.path.kind === 'deferred') {
      group.deferred.push(item);
      return;
    }
    maxDepth = Math.max(maxDepth, entry.path.segments.length);
    group.root ??= newNode(new Uint8Array(0));
    let node = group.root;
    widen(node, index);
    for (const segment of entry.path.segments) {
      if (segment.kind === 'param') {
        node = node.param ??= newNode(new Uint8Array(0));
      } else {
        let child = node.children.get(segment.value);
        if (!child) {
          child = newNode(encoder.encode(segment.value));
          node.children.set(segment.value, child);
        }
        node = child;
      }
      widen(node, index);
    }
    (entry.path.rest ? node.rest : node.end).push(item);
    const segs = entry.path.segments;
    if (!entry.path.rest && segs.every((x) => x.kind === 'static' && !x.value.includes('/'))) {
      group.staticPaths.add('/' + segs.map((x) => (x as { value: string }).value).join('/'));
    }
  });

  const w = new BlobWriter();
  const header = w.alloc(HEADER_BYTES);
  w.u32(header + H_MAGIC, TABLE_MAGIC);
  w.u32(header + H_VERSION, TABLE_VERSION);
  w.u32(header + H_ENTRY_COUNT, entries.length);
  w.u32(header + H_MAX_DEPTH, maxDepth);
  if (any) w.u32(header + H_ANY_GROUP, w.group(any));
  if (groups.size > 0) {
    w.u32(header + H_FLAGS, FLAG_HOSTS);
    const slots = slotCount(groups.size);
    const mask = slots - 1;
    const table = w.alloc(slots * 4);
    w.u32(header + H_HOST_MASK, mask);
    w.u32(header + H_HOST_SLOTS, table);
    const suffixLens = new Set<number>();
    for (const group of groups.values()) {
      if (group.kind === HOST_SUFFIX) suffixLens.add(group.key.length);
      const at = w.group(group);
      let i = murmur3(group.key, 0, group.key.length) & mask;
      while (w.view.getUint32(table + i * 4, true) !== 0) i = (i + 1) & mask;
      w.u32(table + i * 4, at);
    }
    const lens = [...suffixLens].sort((a, b) => a - b);
    if (lens.length > 0) {
      const at = w.alloc(lens.length * 4);
      lens.forEach((len, i) => {
        w.u32(at + i * 4, len);
      });
      w.u32(header + H_SUFFIX_LEN_COUNT, lens.length);
      w.u32(header + H_SUFFIX_LENS, at);
    }
  }
  const total = (w.size + 3) & ~3;
  w.alloc(total - w.size);
  w.u32(header + H_TOTAL_BYTES, total);
  return w.bytes.slice(0, total);
}
