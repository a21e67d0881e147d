/**
 * A small writer of MaxMind DB files (format 2.0), for the demo and the tests: it builds a real `.mmdb` from a few
 * networks so the geo lookup is tested against the same bytes a country database holds, read by
 * the same reader the gateway ships. Written from the MaxMind DB file format specification:
 *
 * - a binary search tree over the address bits, one node per 2 records (here 32-bit records, 8
 *   bytes a node); a record holds a node number (< node count), "no data" (= node count) or a
 *   pointer into the data section (node count + 16 + offset);
 * - 16 zero bytes, then the data section (values in the spec's type-tagged encoding);
 * - `\xAB\xCD\xEFMaxMind.com`, then the metadata map.
 *
 * The tree is an IPv6 tree (ip_version 6); IPv4 networks sit at `::a.b.c.d`, the first 96 bits
 * zero, where readers look IPv4 addresses up. Only what tests need: maps, strings, unsigned
 * integers, arrays and booleans.
 */

/** A value the writer can encode. Integers are written as uint32 (or uint16 where the spec says so). */
export type MmdbValue = string | number | boolean | MmdbValue[] | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** CIDR, e.g. `127.0.0.0/8` or `2001:db8::/32`. */
  cidr: string;
  /** The record readers return for addresses in it, e.g. `{ country: { iso_code: 'SG' } }`. */
  data: { [key: string]: MmdbValue };
}

const TYPE_STRING = 2;
const TYPE_UINT16 = 5;
const TYPE_UINT32 = 6;
const TYPE_MAP = 7;
const TYPE_UINT64 = 9;
const TYPE_ARRAY = 11;
const TYPE_BOOLEAN = 14;
const RECORD_BYTES = 4;
const NODE_BYTES = RECORD_BYTES * 2;
const SEPARATOR_BYTES = 16;
const METADATA_MARKER = [0xab, 0xcd, 0xef, ...new TextEncoder().encode('MaxMind.com')];

/** The 128 bits of a CIDR's address (IPv4 as `::a.b.c.d`) and its prefix length over 128. */
function cidrBits(cidr: string): { bits: number[]; prefix: number } {
  const [addr = '', len = ''] = cidr.split('/');
  const bytes = new Uint8Array(16);
  let prefix = Number(len);
  if (addr.includes('.')) {
    for (const [i, part] of addr.split('.').entries()) bytes[12 + i] = Number(part);
    prefix += 96;
  } else {
    const [head = '', tail] = addr.split('::');
    const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => Number.parseInt(w, 16)));
    const front = words(head);
    const back = tail === undefined ? [] : words(tail);
    const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
    all.forEach((w, i) => {
      bytes[i * 2] = w >> 8;
      bytes[i * 2 + 1] = w & 0xff;
    });
  }
  const bits: number[] = [];
  for (let i = 0; i < 128; i++) bits.push(((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1);
  return { bits, prefix };
}

interface TreeNode {
  kids: [Child, Child];
}
type Child = TreeNode | { data: number } | null;

function isNode(c: Child): c is TreeNode {
  return c !== null && 'kids' in c;
}

/** Encodes a control byte (and the extended type and size bytes) for `type` with `size`. */
function control(type: number, size: number): number[] {
  const out: number[] = [];
  let sizeBits: number;
  const extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 29 + 256) {
    sizeBits = 29;
    extra.push(size - 29);
  } else if (size < 285 + 65536) {
    sizeBits = 30;
    const s = size - 285;
    extra.push(s >> 8, s & 0xff);
  } else {
    sizeBits = 31;
    const s = size - 65821;
    extra.push((s >> 16) & 0xff, (s >> 8) & 0xff, s & 0xff);
  }
  if (type <= 7) out.push((type << 5) | sizeBits);
  else out.push(sizeBits, type - 7);
  return [...out, ...extra];
}

function unsigned(type: number, n: number | bigint): number[] {
  const bytes: number[] = [];
  let v = BigInt(n);
  while (v > 0n) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return [...control(type, bytes.length), ...bytes];
}

function encode(value: MmdbValue, uintType = TYPE_UINT32): number[] {
  if (typeof value === 'string') {
    const bytes = [...new TextEncoder().encode(value)];
    return [...control(TYPE_STRING, bytes.length), ...bytes];
  }
  if (typeof value === 'boolean') return control(TYPE_BOOLEAN, value ? 1 : 0);
  if (typeof value === 'number') return unsigned(uintType, value);
  if (Array.isArray(value)) return [...control(TYPE_ARRAY, value.length), ...value.flatMap((v) => encode(v))];
  const entries = Object.entries(value);
  return [...control(TYPE_MAP, entries.length), ...entries.flatMap(([k, v]) => [...encode(k), ...encode(v)])];
}

/** Metadata fields the spec types as uint16 (the rest of the integers here are uint32). */
const UINT16_FIELDS = new Set(['record_size', 'ip_version', 'binary_format_major_version', 'binary_format_minor_version']);

/**
 * The bytes of an MMDB file holding `networks` (later, more specific networks may sit inside
 * earlier ones). `databaseType` is the metadata's database_type, e.g. `Portico-Test-Country`.
 */
export function writeMmdb(networks: readonly MmdbNetwork[], databaseType = 'Portico-Test-Country'): Uint8Array {
  const root: TreeNode = { kids: [null, null] };
  networks.forEach((network, index) => {
    const { bits, prefix } = cidrBits(network.cidr);
    if (prefix < 1) throw new Error(`writeMmdb: a network needs a prefix of at least 1 bit: ${network.cidr}`);
    let node = root;
    for (let depth = 0; depth < prefix - 1; depth++) {
      const bit = bits[depth] as 0 | 1;
      let next = node.kids[bit];
      // A wider network already ends here: split it, both halves keeping its data.
      if (!isNode(next)) {
        next = { kids: [next, next] };
        node.kids[bit] = next;
      }
      node = next;
    }
    node.kids[bits[prefix - 1] as 0 | 1] = { data: index };
  });

  // Number the nodes breadth-first from the root (node 0).
  const order: TreeNode[] = [root];
  for (let i = 0; i < order.length; i++) {
    for (const kid of (order[i] as TreeNode).kids) if (isNode(kid)) order.push(kid);
  }
  const numbers = new Map(order.map((n, i) => [n, i]));
  const nodeCount = order.length;

  const data: number[] = [];
  const offsets = networks.map((network) => {
    const at = data.length;
    data.push(...encode(network.data));
    return at;
  });

  const tree = new Uint8Array(nodeCount * NODE_BYTES);
  const view = new DataView(tree.buffer);
  order.forEach((node, i) => {
    node.kids.forEach((kid, side) => {
      const value =
        kid === null
          ? nodeCount
          : isNode(kid)
            ? (numbers.get(kid) as number)
            : nodeCount + SEPARATOR_BYTES + (offsets[kid.data] as number);
      view.setUint32(i * NODE_BYTES + side * RECORD_BYTES, value);
    });
  });

  const metadata: { [key: string]: MmdbValue } = {
    node_count: nodeCount,
    record_size: RECORD_BYTES * 8,
    ip_version: 6,
    database_type: databaseType,
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    description: { en: 'portico test database' },
  };
  const meta: number[] = [...control(TYPE_MAP, Object.keys(metadata).length + 1)];
  for (const [key, value] of Object.entries(metadata)) {
    meta.push(...encode(key), ...encode(value, UINT16_FIELDS.has(key) ? TYPE_UINT16 : TYPE_UINT32));
  }
  meta.push(...encode('build_epoch'), ...unsigned(TYPE_UINT64, 1_790_000_000));

  const out = new Uint8Array(tree.length + SEPARATOR_BYTES + data.length + METADATA_MARKER.length + meta.length);
  out.set(tree, 0);
  out.set(data, tree.length + SEPARATOR_BYTES);
  out.set(METADATA_MARKER, tree.length + SEPARATOR_BYTES + data.length);
  out.set(meta, tree.length + SEPARATOR_BYTES + data.length + METADATA_MARKER.length);
  return out;
}
