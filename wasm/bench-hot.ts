/**
 * Microbenchmark of the hot-path pieces (not a test): encodeInto alone, matchRoute alone, the
 * full Matcher.match, hashKey and consumeBucket, on the Wasm, wasm2js and twin builds, with
 * the GitHub REST API table of bench/data. Paths are new strings every call (sliced from
 * distinct URLs), as in bench/matcher.ts "sliced" mode.
 *
 * Usage: npx tsx wasm/bench-hot.ts
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  compileRouteTable, createBucketTable, consumeBucketWords, createMatcher, createTwinHot,
  hashKey, hotFromWasm2js, instantiateHot, methodBit, type HotExports, type TableEntry,
} from '../core/hot/index.ts';

const root = new URL('../', import.meta.url);
const github = JSON.parse(readFileSync(fileURLToPath(new URL('bench/data/github-api.json', root)), 'utf8')) as {
  routes: { method: string; path: string }[];
};
const entries: TableEntry[] = github.routes.map((r) => {
  const parts = r.path.slice(1).split('/');
  const rest = parts[parts.length - 1] === '*';
  if (rest) parts.pop();
  return {
    host: { kind: 'any' },
    methods: methodBit(r.method),
    path: { kind: 'segments', segments: parts.map((p) => (p.startsWith(':') ? { kind: 'param' as const } : { kind: 'static' as const, value: p })), rest },
  };
});
const blob = compileRouteTable(entries);

const CASES = {
  static: '/user/repos',
  param1: '/users/julienschmidt/repos',
  param3: '/repos/julienschmidt/httprouter/issues/42',
  notFound: '/repos/julienschmidt/httprouter/wiki',
};
const URLS = 1000;

function sliced(path: string): string[] {
  const out: string[] = [];
  for (let k = 0; k < URLS; k++) {
    const u = `http://api.github.com${path}?x=${k}`;
    out.push(u.slice(u.indexOf('/', 8), u.indexOf('?')));
  }
  return out;
}

function time(label: string, fn: (i: number) => unknown): number {
  // A fresh loop per cell (new Function), so each call site stays monomorphic.
  const loop = new Function('fn', 'n', 'urls', `let s = 0; for (let i = 0, k = 0; i < n; i++) { s ^= fn(k); k = k + 1 === urls ? 0 : k + 1; } return s;`) as
    (fn: (i: number) => unknown, n: number, urls: number) => number;
  let sink = loop(fn, 200_000, URLS);
  const best: number[] = [];
  for (let round = 0; round < 7; round++) {
    const n = 500_000;
    // CPU time of this process, not wall time: the machine is shared, and wall time counts
    // other processes' turns on the two cores.
    const t0 = process.cpuUsage();
    sink ^= loop(fn, n, URLS);
    const dt = process.cpuUsage(t0);
    best.push(((dt.user + dt.system) * 1e3) / n);
  }
  best.sort((a, b) => a - b);
  const ns = best[1]!;
  console.log(`${label.padEnd(34)} ${ns.toFixed(1).padStart(7)} ns${sink === 0.5 ? '!' : ''}`);
  return ns;
}

const wasm = instantiateHot(new WebAssembly.Module(readFileSync(fileURLToPath(new URL('wasm/build/portico.wasm', root)))));
const w2j = hotFromWasm2js(await import(pathToFileURL(fileURLToPath(new URL('wasm/build/portico.wasm2js.mjs', root))).href));
const impls: [string, HotExports][] = [['wasm', wasm], ['wasm2js', w2j], ['twin', createTwinHot()]];

const enc = new TextEncoder();
const mem = wasm.memory;
time('WebAssembly.Memory#buffer', () => mem.buffer.byteLength);
time('wasm call paramsPtr()', () => wasm.paramsPtr());
time('wasm call matchRoute(bad table)', () => wasm.checkTable(0, 0));
const scratch = new Uint8Array(4096);
for (const [name, path] of Object.entries(CASES)) {
  const paths = sliced(path);
  time(`encodeInto ${name}`, (i) => enc.encodeInto(paths[i]!, scratch).written);
}
for (const [implName, hot] of impls) {
  const m = createMatcher(hot, blob);
  const GET = methodBit('GET');
  for (const [name, path] of Object.entries(CASES)) {
    const paths = sliced(path);
    time(`${implName} match ${name}`, (i) => m.match(GET, '', paths[i]!, 0));
  }
  const all = Object.values(CASES).map(sliced);
  time(`${implName} match mixed`, (i) => m.match(GET, '', all[i & 3]![i]!, 0));
  // matchRoute alone, bytes already in memory.
  const tablePtr = hot.reserve(blob.length);
  new Uint8Array(hot.memory.buffer).set(blob, tablePtr);
  const pathPtr = hot.reserve(256);
  const len = enc.encodeInto(CASES.param3, new Uint8Array(hot.memory.buffer, pathPtr, 256)).written;
  time(`${implName} matchRoute param3 only`, () => hot.matchRoute(tablePtr, GET, 0, 0, pathPtr, len, 0));
  const keys = sliced('/some/cache/key/of/moderate/length');
  time(`${implName} hashKey`, (i) => hashKey(hot, keys[i]!).length);
  const bt = createBucketTable(hot, { capacity: 4096 });
  time(`${implName} consumeBucket`, (i) => (consumeBucketWords(bt, i * 2654435761, i, 1e12 + i, 100, 50, 1).allowed ? 1 : 0));
}

// The shape of bench/matcher.ts "sliced" mode: slice the path out of a distinct URL per call.
{
  const m = createMatcher(wasm, blob);
  const urls: string[] = [];
  const ms: string[] = [];
  const all = Object.values(CASES);
  for (let k = 0; k < URLS; k++) {
    urls.push(`http://api.github.com${all[k % all.length]}?x=${k}`);
    ms.push('GET');
  }
  const loop = new Function('self', 'fn', 'urls', 'ms', 'n', `let s = 0;
    for (let i = 0, k = 0; i < n; i++) {
      const u = urls[k]; const M = ms[k];
      const a = u.indexOf('/', 8); const q = u.indexOf('?', a); const P = u.slice(a, q);
      s ^= self.match(fn(M), '', P, 0);
      k = k + 1 === urls.length ? 0 : k + 1;
    }
    return s;`) as (self: unknown, fn: unknown, urls: string[], ms: string[], n: number) => number;
  const sliceOnly = new Function('urls', 'n', `let s = 0;
    for (let i = 0, k = 0; i < n; i++) {
      const u = urls[k];
      const a = u.indexOf('/', 8); const q = u.indexOf('?', a); s ^= u.slice(a, q).length;
      k = k + 1 === urls.length ? 0 : k + 1;
    }
    return s;`) as (urls: string[], n: number) => number;
  for (const [label, run] of [
    ['slice only (mixed urls)', (n: number) => sliceOnly(urls, n)],
    ['wasm match mixed, sliced per call', (n: number) => loop(m, methodBit, urls, ms, n)],
  ] as const) {
    run(300_000);
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = process.cpuUsage();
      run(500_000);
      const dt = process.cpuUsage(t0);
      best = Math.min(best, ((dt.user + dt.system) * 1e3) / 500_000);
    }
    console.log(`${label.padEnd(34)} ${best.toFixed(1).padStart(7)} ns`);
  }
}

// Wrapper overhead: Matcher.match against the bare minimum (encodeInto + matchRoute).
{
  const m = createMatcher(wasm, blob);
  const tablePtr = wasm.reserve(blob.length);
  new Uint8Array(wasm.memory.buffer).set(blob, tablePtr);
  const scratchPtr = wasm.reserve(4096);
  const view = new Uint8Array(wasm.memory.buffer, scratchPtr, 4096);
  const GET = methodBit('GET');
  const paths = sliced(CASES.param1);
  time('wasm Matcher.match param1', (i) => m.match(GET, '', paths[i]!, 0));
  time('bare encodeInto+matchRoute param1', (i) => {
    const r = enc.encodeInto(paths[i]!, view);
    return wasm.matchRoute(tablePtr, GET, 0, 0, scratchPtr, r.written, 0);
  });
}
