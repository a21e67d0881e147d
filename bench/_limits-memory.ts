/**
 * Memory and speed of the local bucket table with many live keys, in a process of its own (so
 * its RSS is the table's): `node --import tsx bench/_limits-memory.ts <keys> <capacity>`.
 * Prints JSON: RSS before and after, ns per consume (hash given), ns per hash + consume, and how
 * many of the keys the table still holds after all were inserted (the rest were evicted).
 */
import { createBucketTable, consumeBucketWords, hashKeyInto } from '../core/hot/index.ts';
import { loadNodeHot } from '../targets/node/hot.ts';

const keys = Number(process.argv[2] ?? 1_000_000);
const capacity = Number(process.argv[3] ?? 1 << 20);
const hot = await loadNodeHot('wasm');
const words = new Uint32Array(2);
const lo = new Uint32Array(keys);
const hi = new Uint32Array(keys);
const names: string[] = [];
for (let i = 0; i < keys; i++) {
  const name = `route/api/10-per-1s\n10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  names.push(name);
  hashKeyInto(hot, name, words);
  lo[i] = words[0]!;
  hi[i] = words[1]!;
}
globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
const table = createBucketTable(hot, { capacity });
const now = 1_800_000_000_000;
for (let i = 0; i < keys; i++) consumeBucketWords(table, lo[i]!, hi[i]!, now, 10, 10, 1);
const rssAfter = process.memoryUsage().rss;
// Second pass at the same instant: a key still held has 8 left, an evicted one starts full (9).
let held = 0;
for (let i = 0; i < keys; i++) if (consumeBucketWords(table, lo[i]!, hi[i]!, now, 10, 10, 1).remaining < 8.5) held++;
// Timed: random live keys, a later instant (refill math runs).
const order = new Uint32Array(1 << 20);
let x = 12345;
for (let i = 0; i < order.length; i++) {
  x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  order[i] = x % keys;
}
const mask = order.length - 1;
const time = (fn: (i: number) => void, n: number): number => {
  for (let i = 0; i < 200_000; i++) fn(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t) / n;
};
const consumeNs = time((i) => {
  const k = order[i & mask]!;
  consumeBucketWords(table, lo[k]!, hi[k]!, now + 1000 + i, 10, 10, 1);
}, 3_000_000);
const hashConsumeNs = time((i) => {
  const k = order[i & mask]!;
  hashKeyInto(hot, names[k]!, words);
  consumeBucketWords(table, words[0]!, words[1]!, now + 1000 + i, 10, 10, 1);
}, 2_000_000);
process.stdout.write(
  `${JSON.stringify({ keys, capacity, tableBytes: hot.bucketTableBytes(table.capacity), rssBefore, rssAfter, held, consumeNs, hashConsumeNs })}\n`,
);
