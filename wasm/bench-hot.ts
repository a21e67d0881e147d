/**
 * Microbenchmark of the hot path (not a test, not the official benchmark: that is
 * bench/matcher.ts). It measures CPU time per call of this process, which shared machines
 * disturb less than wall time, on the tables of bench/ in "sliced" mode (a new path string
 * sliced out of a distinct URL per call), with find-my-way in the same process as the yardstick.
 * Also times the pieces: encodeInto alone, hashKey and consumeBucket, and the request step
 * (match + cache-key hash + bucket consume in one crossing) against the same three as separate
 * calls.
 *
 * Usage: npx tsx wasm/bench-hot.ts [--quick] [--step] (--step: only the request-step rows)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import FindMyWay from 'find-my-way';
import {
  compileRouteTable, consumeBucketWords, createBucketTable, createMatcher, createRequestStep, createTwinHot,
  hashKey, hashKeyInto, hotFromWasm2js, instantiateHot, methodBit, type HotExports,
} from '../core/hot/index.ts';
import { toTableEntry } from '../bench/_portico.ts';
import { loadTables, mixedCases, type RequestCase } from '../bench/_tables.ts';

const quick = process.argv.includes('--quick');
const stepOnly = process.argv.includes('--step');
const URLS = 1000;
const CALLS = quick ? 200_000 : 1_000_000;
const ROUNDS = quick ? 3 : 7;

const root = new URL('../', import.meta.url);
const wasm = instantiateHot(new WebAssembly.Module(readFileSync(fileURLToPath(new URL('wasm/build/portico.wasm', root)))));
const w2j = hotFromWasm2js(await import(pathToFileURL(fileURLToPath(new URL('wasm/build/portico.wasm2js.mjs', root))).href));
const impls: [string, HotExports][] = [['wasm', wasm], ['wasm2js', w2j], ['twin', createTwinHot()]];

/** Best CPU nanoseconds per call of `run(n)` over several rounds, after a warmup. */
function cpuTime(run: (n: number) => unknown): number {
  run(CALLS / 2);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.cpuUsage();
    run(CALLS);
    const dt = process.cpuUsage(t0);
    best = Math.min(best, ((dt.user + dt.system) * 1e3) / CALLS);
  }
  return best;
}

/** Median CPU nanoseconds per call of `run(n)` over the rounds, after a warmup. */
function cpuTimeMedian(run: (n: number) => unknown): number {
  run(CALLS / 2);
  const t: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.cpuUsage();
    run(CALLS);
    const dt = process.cpuUsage(t0);
    t.push(((dt.user + dt.system) * 1e3) / CALLS);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1]!;
}

/** One generated loop per cell, so each call site sees one receiver shape. */
function slicedLoop(expr: string, self: unknown, requests: RequestCase[], folded: boolean): (n: number) => unknown {
  const urls: string[] = [];
  const ms: string[] = [];
  const hs: string[] = [];
  for (let k = 0; k < URLS; k++) {
    const r = requests[k % requests.length]!;
    const url = `http://${r.host}${r.path}?x=${k}`;
    urls.push(url);
    ms.push(r.method);
    hs.push(url.slice(7, 7 + r.host.length));
  }
  const slice = folded
    ? `const q = u.indexOf('?', 8); const H = ''; const P = u.slice(6, q);`
    : `const s = u.indexOf('/', 8); const q = u.indexOf('?', s); const H = hs[k]; const P = u.slice(s, q);`;
  const body = `let sink = 0;
    for (let i = 0, k = 0; i < n; i++) {
      const u = urls[k]; const M = ms[k];
      ${slice}
      const r = ${expr};
      sink ^= typeof r === 'number' ? r : r === null ? 1 : 2;
      k = k + 1 === urls.length ? 0 : k + 1;
    }
    return sink;`;
  const loop = new Function('self', 'fn', 'urls', 'ms', 'hs', 'n', body) as (...a: unknown[]) => number;
  return (n) => loop(self, methodBit, urls, ms, hs, n);
}

const fmt = (ns: number): string => `${ns.toFixed(1).padStart(6)} ns`;

for (const table of stepOnly ? [] : loadTables()) {
  const blob = compileRouteTable(table.routes.map((r) => toTableEntry(r, table.hosts)));
  const fmw = FindMyWay();
  table.routes.forEach((r, i) => fmw.on(r.method as 'GET', table.hosts ? `/${r.host}${r.path}` : r.path, () => {}, { route: i }));
  const cases: [string, RequestCase[]][] = table.cases
    .filter((c): c is RequestCase => !('skip' in c) && c.id !== 'mixed')
    .map((c) => [c.id, [c]]);
  cases.push(['mixed', mixedCases(table)]);
  console.log(`\n${table.title} (${blob.length} B blob)`);
  console.log(`${'case'.padEnd(10)} ${impls.map(([n]) => n.padStart(9)).join(' ')} find-my-way  wasm/fmw`);
  for (const [id, requests] of cases) {
    const times = impls.map(([, hot]) => cpuTime(slicedLoop('self.match(fn(M), H, P, 0)', createMatcher(hot, blob), requests, false)));
    const peer = cpuTime(slicedLoop('self.find(M, P)', fmw, requests, table.hosts));
    console.log(`${id.padEnd(10)} ${times.map(fmt).join(' ')} ${fmt(peer)}    ${(times[0]! / peer).toFixed(2)}×`);
  }
}

if (!stepOnly) console.log('\npieces');
if (!stepOnly) {
  const enc = new TextEncoder();
  const scratch = new Uint8Array(4096);
  const urls = Array.from({ length: URLS }, (_, k) => `http://api.github.com/repos/julienschmidt/httprouter/issues/42?x=${k}`);
  const slice = new Function('urls', 'enc', 'dst', 'n', `let s = 0;
    for (let i = 0, k = 0; i < n; i++) {
      const u = urls[k]; const a = u.indexOf('/', 8); const P = u.slice(a, u.indexOf('?', a));
      s ^= enc ? enc.encodeInto(P, dst).written : P.length;
      k = k + 1 === urls.length ? 0 : k + 1;
    }
    return s;`) as (...a: unknown[]) => number;
  const sliceOnly = cpuTime((n) => slice(urls, null, scratch, n));
  console.log(`slice alone (42-char path)        ${fmt(sliceOnly)}`);
  console.log(`slice + encodeInto                ${fmt(cpuTime((n) => slice(urls, enc, scratch, n)))}`);
  for (const [name, hot] of impls) {
    const keys = Array.from({ length: URLS }, (_, k) => `GET https://api.example.com/v1/items/${k}?page=2`);
    const hashLoop = new Function('hashKey', 'hot', 'keys', 'n', `let s = 0;
      for (let i = 0, k = 0; i < n; i++) { s ^= hashKey(hot, keys[k]).length; k = k + 1 === keys.length ? 0 : k + 1; }
      return s;`) as (...a: unknown[]) => number;
    console.log(`${name.padEnd(8)} hashKey (45-char key)    ${fmt(cpuTime((n) => hashLoop(hashKey, hot, keys, n / 4)) / 4)}`);
    const bt = createBucketTable(hot, { capacity: 4096 });
    const bucketLoop = new Function('consume', 'bt', 'n', `let s = 0;
      for (let i = 0; i < n; i++) s ^= consume(bt, Math.imul(i & 1023, 2654435761) >>> 0, 7, 1e12 + i, 100, 50, 1).allowed ? 1 : 0;
      return s;`) as (...a: unknown[]) => number;
    console.log(`${name.padEnd(8)} consumeBucket            ${fmt(cpuTime((n) => bucketLoop(consumeBucketWords, bt, n)))}`);
  }
}

// The request step: one crossing (match from 0 + XXH64 of method-seeded host ++ path + bucket
// consume keyed by that hash), against the same work as three wrapper calls (match, hashKeyInto
// of host + path, consumeBucketWords). The clock advances 1 ms per call; rate and burst are
// large, so most calls are allowed, as in production.
console.log(`\nrequest step (median of ${ROUNDS} rounds of ${CALLS} calls; load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')})`);
console.log(`${'table / case'.padEnd(26)} ${impls.map(([n]) => n.padStart(9)).join(' ')}   wasm 3 calls   module only: wasm  wasm2js`);

/**
 * The crossing alone: requestStep on bytes already in linear memory (each request of the case
 * encoded once, up front), call included, no JS wrapper, no slice, no encodeInto.
 */
function moduleOnly(hot: HotExports, blob: Uint8Array, requests: RequestCase[]): number {
  const step = createRequestStep(hot, blob, createBucketTable(hot, { capacity: 4096 }));
  const tablePtr = (step as unknown as { matcher: { tablePtr: number } }).matcher.tablePtr;
  const buckets = (step as unknown as { buckets: number }).buckets;
  const enc = new TextEncoder();
  const keys: number[] = [];
  for (const r of requests) {
    const host = enc.encode(r.host);
    const path = enc.encode(r.path);
    const ptr = hot.reserve(host.length + path.length + 8);
    new Uint8Array(hot.memory.buffer).set(host, ptr);
    new Uint8Array(hot.memory.buffer).set(path, ptr + host.length);
    keys.push(ptr, host.length, path.length, methodBit(r.method));
  }
  const loop = new Function('hot', 'T', 'B', 'keys', 'n', `let s = 0;
    for (let i = 0, k = 0; i < n; i++) {
      s ^= hot.requestStep(T, B, keys[k + 3], keys[k], keys[k + 1], keys[k + 2], 0, 0, 1e12 + i, 1e6, 1e6, 1);
      k = k + 4 === keys.length ? 0 : k + 4;
    }
    return s;`) as (...a: unknown[]) => number;
  return cpuTimeMedian((n) => loop(hot, tablePtr, buckets, keys, n));
}
for (const table of loadTables()) {
  const blob = compileRouteTable(table.routes.map((r) => toTableEntry(r, table.hosts)));
  const cases: [string, RequestCase[]][] = table.cases
    .filter((c): c is RequestCase => !('skip' in c) && (c.id === 'static' || c.id === 'param3'))
    .map((c) => [c.id, [c]]);
  cases.push(['mixed', mixedCases(table)]);
  for (const [id, requests] of cases) {
    const times = impls.map(([, hot]) => cpuTimeMedian(slicedLoop(
      'self.run(fn(M), H, P, 1e12 + i, 1e6, 1e6, 1)', createRequestStep(hot, blob, createBucketTable(hot, { capacity: 4096 })), requests, false)));
    const separate = {
      m: createMatcher(wasm, blob), b: createBucketTable(wasm, { capacity: 4096 }), w: new Uint32Array(2),
      run(bit: number, host: string, path: string, now: number): boolean {
        const idx = this.m.match(bit, host, path, 0);
        hashKeyInto(wasm, host + path, this.w);
        return consumeBucketWords(this.b, this.w[0]!, this.w[1]!, now, 1e6, 1e6, 1).allowed && idx >= -1;
      },
    };
    const sep = cpuTimeMedian(slicedLoop('self.run(fn(M), H, P, 1e12 + i)', separate, requests, false));
    const raw = [wasm, w2j].map((hot) => moduleOnly(hot, blob, requests));
    console.log(`${`${table.id} ${id}`.padEnd(26)} ${times.map(fmt).join(' ')}   ${fmt(sep)}     ${raw.map(fmt).join(' ')}`);
  }
}
