/**
 * A/B of two builds of the hot-path module (`.wasm`, or wasm2js `.mjs`) on `matchRoute` alone: the requests of a table's
 * `mixed` case written into each module's memory up front, then calls to the export with no
 * copy and no JS wrapper, the two builds interleaved (ABAB…, 9 rounds) in one process so that
 * the machine's slow phases hit both alike. For work on wasm/assembly: A/A reads within ±1%
 * here, where whole-benchmark runs move ±50%.
 *
 * With `--cases`, each request kind of the table is timed on its own (one request, the same
 * rounds) instead of the `mixed` cycle. With `--step`, the export timed is `requestStep` (match,
 * cache-key hash and bucket in one call, host and path written back to back) instead of
 * `matchRoute`.
 *
 * @example
 * // cp wasm/build/portico.wasm /tmp/before.wasm; (edit wasm/assembly); npm run build:wasm
 * // npx tsx bench/module-ab.ts /tmp/before.wasm wasm/build/portico.wasm [github|hono|multitenant] [--cases]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileRouteTable, type HotExports, hotFromWasm2js, instantiateHot, methodBit } from '../core/hot/index.ts';
import { toTableEntry } from './_portico.ts';
import { loadTables, mixedCases, type RequestCase } from './_tables.ts';

const ROUNDS = 9;
const CALLS = 2_000_000;

/** A `.wasm` build, or a wasm2js build (`.mjs`, one instance per file). */
async function load(path: string): Promise<HotExports> {
  if (path.endsWith('.mjs')) return hotFromWasm2js(await import(pathToFileURL(resolve(path)).href));
  return instantiateHot(new WebAssembly.Module(readFileSync(path)));
}

/** The request kinds to time: the table's `mixed` cycle, or (`--cases`) each kind on its own. */
function requestSets(tableId: string, perCase: boolean): { id: string; requests: RequestCase[] }[] {
  const table = loadTables().find((t) => t.id === tableId);
  if (!table) throw new Error(`no table ${tableId} (github, hono, multitenant)`);
  const mixed = mixedCases(table);
  return perCase ? mixed.map((r) => ({ id: r.id, requests: [r] })) : [{ id: 'mixed', requests: mixed }];
}

/** A function that makes `calls` matchRoute (or requestStep) calls on one build, cycling through the requests. */
function loopFor(
  hot: HotExports,
  wasmPath: string,
  tableId: string,
  requests: RequestCase[],
  step: boolean,
): (calls: number) => number {
  const table = loadTables().find((t) => t.id === tableId)!;
  const blob = compileRouteTable(table.routes.map((r) => toTableEntry(r, table.hosts)));
  const tablePtr = hot.reserve(blob.length);
  new Uint8Array(hot.memory.buffer).set(blob, tablePtr);
  if (hot.checkTable(tablePtr, blob.length) !== 0) throw new Error(`${wasmPath} refuses the route table`);
  const enc = new TextEncoder();
  const args: number[] = [];
  for (const r of requests) {
    const host = enc.encode(r.host);
    const path = enc.encode(r.path);
    // Host and path back to back (as requestStep wants them), with 8 readable bytes after, as
    // the wrappers' scratch has.
    const hostPtr = hot.reserve(host.length + path.length + 8);
    const pathPtr = hostPtr + host.length;
    const u8 = new Uint8Array(hot.memory.buffer);
    u8.set(host, hostPtr);
    u8.set(path, pathPtr);
    args.push(methodBit(r.method), hostPtr, host.length, pathPtr, path.length);
  }
  const flat = new Int32Array(args);
  const n = args.length / 5;
  if (step) {
    const buckets = hot.reserve(hot.bucketTableBytes(4096));
    if (hot.bucketInit(buckets, 4096) !== 0) throw new Error(`${wasmPath}: bucketInit failed`);
    let now = 1e12;
    return (calls) => {
      let sink = 0;
      for (let i = 0, k = 0; i < calls; i++) {
        const o = k * 5;
        sink ^= hot.requestStep(tablePtr, buckets, flat[o]!, flat[o + 1]!, flat[o + 2]!, flat[o + 4]!, 0, 0, now++, 1e6, 1e6, 1);
        k = k + 1 === n ? 0 : k + 1;
      }
      return sink;
    };
  }
  return (calls) => {
    let sink = 0;
    for (let i = 0, k = 0; i < calls; i++) {
      const o = k * 5;
      sink ^= hot.matchRoute(tablePtr, flat[o]!, flat[o + 1]!, flat[o + 2]!, flat[o + 3]!, flat[o + 4]!, 0);
      k = k + 1 === n ? 0 : k + 1;
    }
    return sink;
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const args = process.argv.slice(2).filter((a) => a !== '--cases' && a !== '--step');
const perCase = process.argv.includes('--cases');
const step = process.argv.includes('--step');
const [aPath, bPath, tableId = 'github'] = args;
if (!aPath || !bPath) {
  process.stderr.write(
    'usage: npx tsx bench/module-ab.ts A.wasm|A.mjs B.wasm|B.mjs [github|hono|multitenant] [--cases] [--step]\n',
  );
  process.exit(2);
}
const hots = [await load(aPath), await load(bPath)];
for (const set of requestSets(tableId, perCase)) {
  const builds = [loopFor(hots[0]!, aPath, tableId, set.requests, step), loopFor(hots[1]!, bPath, tableId, set.requests, step)];
  const times: number[][] = [[], []];
  for (const run of builds) run(CALLS);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) {
      const start = process.hrtime.bigint();
      builds[which]!(CALLS);
      times[which]!.push(Number(process.hrtime.bigint() - start) / CALLS);
    }
  }
  const [a, b] = times.map(median) as [number, number];
  process.stdout.write(
    `${tableId} ${set.id}, ${step ? 'requestStep' : 'matchRoute'} alone: A ${a.toFixed(1)} ns, B ${b.toFixed(1)} ns, B/A ${(b / a).toFixed(3)} (median of ${ROUNDS} interleaved rounds)\n`,
  );
}
