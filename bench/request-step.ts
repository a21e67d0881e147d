/**
 * The request-step benchmark: what one request costs on the hot path when the route match, the
 * cache-key hash and the rate-limit bucket go through ONE crossing (`createRequestStep`), next
 * to the same work as three wrapper calls, in mode 2 of bench/matcher.ts (a new path string per
 * call, sliced from a distinct URL; the host a string of its own). Same harness as the matcher
 * benchmark (`_timing.ts`): a generated function per cell, pre-warm, warmup, mitata medians, a
 * Node process per run.
 *
 * Rows:
 * - `step (wasm|wasm2js|twin)`: `step.run(methodBit(M), H, P, now, rate, burst, 1)`;
 * - `3 calls (wasm)`: `match` + `hashKeyInto(host + path)` + `consumeBucketWords`;
 * - `module alone (wasm)`: requestStep on bytes already in linear memory (no slice, no copy,
 *   no JS wrapper): what the crossing itself costs;
 * - the copy-in floor: the wrapper's writes of host and path and one empty crossing, no work;
 * - the harness floor (the URL pick and slice).
 *
 * Before timing, every row's route (and params, but for the module row) is checked against the
 * oracle of bench/_tables.ts, and the three step builds must give the same cache-key hashes.
 *
 * @example
 * // npx tsx bench/request-step.ts [--runs 5] [--out bench/results]   (or: portico bench step)
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileRouteTable, createBucketTable, createRequestStep, methodBit, type HotExports } from '../core/hot/index.ts';
import { compileLookup, harnessFloor, type BuiltRouter, type Contestant } from './_contestants.ts';
import { copyInCall, isolatedHotApi, toTableEntry, type HotApi } from './_portico.ts';
import {
  createOracle,
  expectedOutcome,
  loadTables,
  mixedCases,
  type MatchOutcome,
  type RequestCase,
  type RouteTable,
} from './_tables.ts';
import { collectGarbage, prewarm, timeCell, timedFunction } from './_timing.ts';
import { TS_LOADER } from './_loader.ts';

const CASES = ['static', 'param1', 'param3', 'mixed'] as const;
/** Large enough that (almost) every call is allowed, as in production. */
const RATE = 1e6;
const BURST = 1e6;
const NO_ANSWER: MatchOutcome = { route: -1, params: [], rest: null, matches: 0 };
const RESULT_MARK = '@@step-run ';

interface Row {
  id: string;
  label: string;
  build: (table: RouteTable) => BuiltRouter;
}

/** Each row gets a copy of core/hot of its own (see isolatedHotApi in _portico.ts). */
interface RowApis {
  wasm: HotApi;
  wasm2js: HotApi;
  twin: HotApi;
  threeCalls: HotApi;
  module: HotApi;
  copyFloor: HotApi;
}

async function loadApis(): Promise<RowApis> {
  return {
    wasm: await isolatedHotApi('step-wasm'),
    wasm2js: await isolatedHotApi('step-wasm2js'),
    twin: await isolatedHotApi('step-twin'),
    threeCalls: await isolatedHotApi('three-calls'),
    module: await isolatedHotApi('module'),
    copyFloor: await isolatedHotApi('step-copy-floor'),
  };
}

const WASM_MODULE = new WebAssembly.Module(readFileSync(fileURLToPath(new URL('../wasm/build/portico.wasm', import.meta.url))));
const WASM2JS = await import(pathToFileURL(fileURLToPath(new URL('../wasm/build/portico.wasm2js.mjs', import.meta.url))).href);

/** A fresh module of `impl` through `api` (the wasm2js build has one instance per process). */
function hotOf(api: HotApi, impl: 'wasm' | 'wasm2js' | 'twin'): HotExports {
  if (impl === 'wasm') return api.instantiateHot(WASM_MODULE);
  return impl === 'wasm2js' ? api.hotFromWasm2js(WASM2JS) : api.createTwinHot();
}

const blobOf = (table: RouteTable): Uint8Array => compileRouteTable(table.routes.map((r) => toTableEntry(r, table.hosts)));

/** The clock of a row: 1 ms later every call. */
interface Clock {
  now: number;
}

function rows(apis: RowApis): Row[] {
  const stepRow = (impl: 'wasm' | 'wasm2js' | 'twin'): Row => ({
    id: `step-${impl}`,
    label: `step (${impl})`,
    build(table) {
      const api = apis[impl];
      const hot = hotOf(api, impl);
      const step = api.createRequestStep(hot, blobOf(table), api.createBucketTable(hot, { capacity: 4096 }));
      const self = { step, clock: { now: 1e12 } as Clock };
      return {
        call: { expr: `self.step.run(fn(M), H, P, self.clock.now++, ${RATE}, ${BURST}, 1)`, self, fn: api.methodBit },
        decode: (raw, path) => outcome(raw as number, path, step),
      };
    },
  });
  return [
    stepRow('wasm'),
    stepRow('wasm2js'),
    stepRow('twin'),
    {
      id: 'three-calls',
      label: '3 calls (wasm)',
      build(table) {
        const api = apis.threeCalls;
        const hot = hotOf(api, 'wasm');
        const self = {
          m: api.createMatcher(hot, blobOf(table)),
          b: api.createBucketTable(hot, { capacity: 4096 }),
          w: new Uint32Array(2),
          now: 1e12,
          run(bit: number, host: string, path: string): number {
            const idx = this.m.match(bit, host, path, 0);
            api.hashKeyInto(hot, host + path, this.w);
            return api.consumeBucketWords(this.b, this.w[0]!, this.w[1]!, this.now++, RATE, BURST, 1).allowed ? idx : -2;
          },
        };
        return {
          call: { expr: 'self.run(fn(M), H, P)', self, fn: api.methodBit },
          decode: (raw, path) => outcome(raw as number, path, self.m),
        };
      },
    },
    {
      id: 'module',
      label: 'module alone (wasm)',
      build(table) {
        const api = apis.module;
        const hot = hotOf(api, 'wasm');
        const step = api.createRequestStep(hot, blobOf(table), api.createBucketTable(hot, { capacity: 4096 }));
        const inner = step as unknown as { matcher: { tablePtr: number }; buckets: number };
        const enc = new TextEncoder();
        // The requests of the cell, encoded once up front: [ptr, hostLen, pathLen, methodBit] by path.
        const byPath = new Map<string, number[]>();
        const self = {
          hot,
          table: inner.matcher.tablePtr,
          buckets: inner.buckets,
          now: 1e12,
          byPath,
          raw(bit: number, host: string, path: string): number {
            let k = byPath.get(host + path);
            if (!k) {
              const h = enc.encode(host);
              const p = enc.encode(path);
              const ptr = hot.reserve(h.length + p.length + 8);
              new Uint8Array(hot.memory.buffer).set(h, ptr);
              new Uint8Array(hot.memory.buffer).set(p, ptr + h.length);
              k = [ptr, h.length, p.length];
              byPath.set(host + path, k);
            }
            return this.call(bit, k);
          },
          call(bit: number, k: number[]): number {
            return hot.requestStep(this.table, this.buckets, bit, k[0]!, k[1]!, k[2]!, 0, 0, this.now++, RATE, BURST, 1);
          },
        };
        return {
          // The lookup by path happens in the check; the timed call picks the pre-encoded bytes
          // by the request's index instead (`k`, the URL number in the timed function).
          call: {
            expr: 'self.call(fn(M), self.keys[k % self.keys.length])',
            self: Object.assign(self, { keys: [] as number[][] }),
            fn: api.methodBit,
          },
          decode: (raw) => ({
            route: (raw as number) >= 2 ? ((raw as number) >> 1) - 1 : -1,
            params: [],
            rest: null,
            matches: 0,
          }),
        };
      },
    },
  ];
}

function outcome(
  route: number,
  path: string,
  m: { paramCount(): number; paramStart(i: number): number; paramEnd(i: number): number },
): MatchOutcome {
  if (route < 0) return NO_ANSWER;
  const params: string[] = [];
  for (let i = 0; i < m.paramCount(); i++) params.push(path.slice(m.paramStart(i), m.paramEnd(i)));
  return { route, params, rest: null, matches: 1 };
}

/** The requests a cell cycles through, in the order of the timed function's URLs. */
function cellRequests(table: RouteTable, caseId: string): RequestCase[] {
  const live = mixedCases(table);
  return caseId === 'mixed' ? live : live.filter((c) => c.id === caseId);
}

/** Checks a built row on the cell's requests; throws with the first wrong answer. */
function check(row: Row, built: BuiltRouter, table: RouteTable, caseId: string): void {
  const oracle = createOracle(table);
  for (const r of cellRequests(table, caseId)) {
    const want = expectedOutcome(oracle, r.method, r.host, r.path);
    if (row.id === 'module') {
      const self = built.call.self as { raw(bit: number, host: string, path: string): number };
      const got = built.decode(self.raw(methodBit(r.method), r.host, r.path), r.path);
      if (got.route !== want.route) throw new Error(`${row.label} ${table.id} ${r.path}: route ${got.route}, want ${want.route}`);
      continue;
    }
    const lookup = compileLookup(built.call);
    const got = built.decode(lookup(r.method, r.host, r.path), r.path);
    const wantParams = want.rest === null ? want.params : [...want.params, want.rest];
    if (got.route !== want.route || JSON.stringify(got.params) !== JSON.stringify(wantParams)) {
      throw new Error(
        `${row.label} ${table.id} ${r.method} ${r.host}${r.path}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`,
      );
    }
  }
}

/** One run, in this process: every table, case and row; returns ns per call by cell key. */
async function timeRun(run: number): Promise<Record<string, number>> {
  const apis = await loadApis();
  const all = rows(apis);
  const copyRow = copyFloorRow(apis);
  const times: Record<string, number> = {};
  for (const table of loadTables()) {
    const n = all.length;
    const order = all.map((_, i) => all[(i + run) % n]!);
    const built = new Map([...order, copyRow].map((r) => [r.id, r.build(table)]));
    for (const row of order) {
      const b = built.get(row.id)!;
      if (row.id === 'module') {
        // Encode the requests of every URL up front, in URL order (see `call` above).
        const self = b.call.self as {
          raw(bit: number, host: string, path: string): number;
          keys: number[][];
          byPath: Map<string, number[]>;
        };
        for (const r of cellRequests(table, 'mixed')) self.raw(methodBit(r.method), r.host, r.path);
        self.keys = cellRequests(table, 'mixed').map((r) => self.byPath.get(r.host + r.path)!);
      }
      prewarm(asContestant(row), b, table);
    }
    for (const caseId of CASES) {
      if (cellRequests(table, caseId).length === 0) continue;
      collectGarbage('major');
      for (const row of [...order, copyRow, floorRow]) {
        const b = row === floorRow ? harnessFloor.build(table) : built.get(row.id)!;
        if (row.id === 'module') {
          const self = b.call.self as { keys: number[][]; byPath: Map<string, number[]> };
          self.keys = cellRequests(table, caseId).map((r) => self.byPath.get(r.host + r.path)!);
        }
        const fn = timedFunction(asContestant(row), b, table, caseId, 'sliced');
        times[`${table.id}|${caseId}|${row.id}`] = await timeCell(fn, { minCpuTimeMs: 15, warmupMs: 10, plainLoop: false });
      }
    }
  }
  return times;
}

const floorRow: Row = { id: 'floor', label: '(harness floor, no work)', build: (t) => harnessFloor.build(t) };

/**
 * Not a step: what `step.run` does before its crossing (method bit, host and path written into
 * linear memory) and one empty export call. The least any request step behind this wrapper can
 * cost; it includes the harness floor.
 */
function copyFloorRow(apis: RowApis): Row {
  return {
    id: 'copy-floor',
    label: '(copy-in floor, no work)',
    build: () => copyInCall(apis.copyFloor, hotOf(apis.copyFloor, 'wasm'), true),
  };
}

function asContestant(row: Row): Contestant {
  return { id: row.id, label: row.label, family: 'portico', hostRouting: true, capturesRest: true, build: row.build };
}

function spawnRun(run: number): Promise<Record<string, number>> {
  const args = ['--expose-gc', '--import', TS_LOADER, fileURLToPath(import.meta.url), '--worker', String(run)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (code !== 0 || !line) return reject(new Error(`run ${run + 1}: exited with code ${code}`));
      resolve(JSON.parse(line.slice(RESULT_MARK.length)) as Record<string, number>);
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (ns: number): string => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(ns < 100 ? 1 : 0)} ns`);

/**
 * The benchmark's correctness gate alone (no timing): every row's answers on every table and case
 * against the oracle, and the three step builds' cache-key hashes equal. Throws on the first
 * wrong answer.
 * @returns how many answers were checked
 */
export async function checkStepBench(): Promise<{ checked: number }> {
  const apis = await loadApis();
  let checked = 0;
  for (const table of loadTables()) {
    for (const row of rows(apis)) {
      for (const c of CASES) {
        if (cellRequests(table, c).length === 0) continue;
        check(row, row.build(table), table, c);
        checked += cellRequests(table, c).length;
      }
    }
    const hashes = (['wasm', 'wasm2js', 'twin'] as const).map((impl) => {
      const hot = hotOf(apis[impl], impl);
      const step = createRequestStep(hot, blobOf(table), createBucketTable(hot, { capacity: 64 }));
      return cellRequests(table, 'mixed').map((r) => {
        step.run(methodBit(r.method), r.host, r.path, 0, 1, 1, 0);
        return step.hashHex();
      });
    });
    if (JSON.stringify(hashes[0]) !== JSON.stringify(hashes[1]) || JSON.stringify(hashes[0]) !== JSON.stringify(hashes[2])) {
      throw new Error(`${table.id}: the step's cache-key hashes differ between wasm, wasm2js and the twin`);
    }
    checked += hashes[0]!.length;
  }
  return { checked };
}

/** The command line (`--runs N`, `--out DIR`; `--worker N` is one run, internal). */
export async function cliMain(argv: string[]): Promise<void> {
  if (argv.includes('--worker')) {
    const times = await timeRun(Number(argv[argv.indexOf('--worker') + 1]));
    process.stdout.write(RESULT_MARK + JSON.stringify(times) + '\n');
    return;
  }
  const runs = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 5;
  const outDir = argv.includes('--out') ? argv[argv.indexOf('--out') + 1]! : fileURLToPath(new URL('./results', import.meta.url));

  // The check: every row, every table, every case, before anything is timed.
  const { checked } = await checkStepBench();
  const apis = await loadApis();
  const tables = loadTables();
  process.stderr.write(`request step: ${checked} answers checked; ${runs} run(s), a process each\n`);

  const all: Record<string, number>[] = [];
  for (let run = 0; run < runs; run++) {
    all.push(await spawnRun(run));
    process.stderr.write(`  run ${run + 1}/${runs} done\n`);
  }
  const ids = [...rows(apis), copyFloorRow(apis), floorRow];
  const lines = [
    '# Request step results',
    '',
    `${new Date().toISOString()} · ${runs} run(s), a Node process each · Node ${process.versions.node} · load ${(
      await import('node:os')
    )
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
    '',
    "Median over runs of each run's median ns per request, mode 2 (a new path string per call). The goal of the issue is one crossing of at most 120 ns in total: the `step (wasm)` row.",
    '',
  ];
  const json: Record<string, unknown> = { date: new Date().toISOString(), runs, cells: {} as Record<string, number[]> };
  for (const table of tables) {
    const cases = CASES.filter((c) => cellRequests(table, c).length > 0);
    lines.push(`## ${table.title}`, '', `| row | ${cases.join(' | ')} |`, `| --- |${cases.map(() => ' ---: |').join('')}`);
    for (const row of ids) {
      const cells = cases.map((c) => {
        const values = all.map((r) => r[`${table.id}|${c}|${row.id}`]).filter((v): v is number => v !== undefined);
        (json['cells'] as Record<string, number[]>)[`${table.id}|${c}|${row.id}`] = values;
        return values.length ? fmt(median(values)) : '–';
      });
      lines.push(`| ${row.label} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  const md = lines.join('\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}/request-step.md`, md);
  writeFileSync(`${outDir}/request-step.json`, JSON.stringify(json, null, 1) + '\n');
  process.stdout.write(md);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cliMain(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  });
}
