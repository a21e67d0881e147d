/**
 * The Router-interface benchmark: every router behind Hono's `Router` interface, through the
 * same `add(method, path, handler)` and `match(method, path)` calls, on the matcher benchmark's
 * Hono and GitHub tables (bench/_tables.ts) with a new path string per call (sliced from one of
 * 4,096 distinct URLs, as a server does). PorticoRouter (on the best Wasm build the engine runs,
 * and on the plain one) and Hono's routers answer natively; find-my-way, koa-tree-router,
 * @medley/router, rou3 (compiled) and memoirist get a small adapter that returns Hono's Result
 * shape, `[[handler, params]]`, from their lookup. Every router's answers (handlers and params)
 * are checked against TrieRouter's on every case before anything is timed; a router that differs
 * is reported and not timed.
 *
 * Usage: npx tsx bench/hono-router.ts [--rounds N] [--json]
 * Prints ns per `match` (median of the rounds, CPU time) and the ratio to the fastest JS router.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import type { Result, Router } from 'hono/router';
import FindMyWay from 'find-my-way';
import KoaTreeRouter from 'koa-tree-router';
import Medley from '@medley/router';
import { addRoute, createRouter } from 'rou3';
import { compileRouter } from 'rou3/compiler';
import { Memoirist } from 'memoirist';
import { compileJsStringHot, instantiateHot, PorticoRouter, type HotExports } from '../core/hot/index.ts';
import { isSkipped, loadTables, type CaseId, type RequestCase } from './_tables.ts';

type AnyRouter = Router<string>;
type Params = Record<string, string>;

/** Hono's plain Result from one handler and its params (what the adapters return). */
const one = (handler: string, params: Params): Result<string> => [[[handler, params]]];
const NONE: Result<string> = [[]];

/** find-my-way behind the Router interface. */
class FindMyWayRouter implements AnyRouter {
  name = 'find-my-way';
  private readonly r = FindMyWay();
  add(method: string, path: string, handler: string): void {
    this.r.on(method as 'GET', path, () => {}, { h: handler });
  }
  match(method: string, path: string): Result<string> {
    const f = this.r.find(method as 'GET', path) as { store: { h: string }; params: Params } | null;
    if (!f) return NONE;
    if ('*' in f.params) {
      const { '*': _rest, ...named } = f.params;
      return one(f.store.h, named);
    }
    return one(f.store.h, f.params);
  }
}

/** koa-tree-router behind the Router interface (a last `*` becomes its catch-all `*rest`). */
class KoaTreeRouterAdapter implements AnyRouter {
  name = 'koa-tree-router';
  private readonly r = new KoaTreeRouter() as unknown as {
    on(method: string, path: string, handler: () => string): void;
    find(method: string, path: string): unknown;
  };
  add(method: string, path: string, handler: string): void {
    this.r.on(method, path.endsWith('/*') ? `${path}rest` : path, () => handler);
  }
  match(method: string, path: string): Result<string> {
    const f = this.r.find(method, path) as { handle: (() => string)[] | null; params: { key: string; value: string }[] };
    if (!f.handle) return NONE;
    const params: Params = {};
    for (const p of f.params) if (p.key !== 'rest') params[p.key] = p.value;
    return one(f.handle[0]!(), params);
  }
}

/** @medley/router behind the Router interface (a store per path, methods as its keys). */
class MedleyRouter implements AnyRouter {
  name = '@medley/router';
  private readonly r = new Medley();
  add(method: string, path: string, handler: string): void {
    const store = this.r.register(path);
    store[method] ??= handler;
  }
  match(method: string, path: string): Result<string> {
    const f = this.r.find(path);
    const h = f?.store[method] as string | undefined;
    if (h === undefined) return NONE;
    const params = f!.params;
    if ('*' in params) {
      const { '*': _rest, ...named } = params;
      return one(h, named);
    }
    return one(h, params);
  }
}

/** rou3, compiled on the first match (and again after a later add). */
class Rou3CompiledRouter implements AnyRouter {
  name = 'rou3 (compiled)';
  private readonly r = createRouter<string>();
  private compiled: ((method: string, path: string) => { data: string; params?: Params } | undefined) | undefined;
  add(method: string, path: string, handler: string): void {
    addRoute(this.r, method, path, handler);
    this.compiled = undefined;
  }
  match(method: string, path: string): Result<string> {
    this.compiled ??= compileRouter(this.r) as unknown as typeof this.compiled;
    const f = this.compiled!(method, path);
    if (!f) return NONE;
    const params = f.params;
    if (params === undefined) return one(f.data, {});
    if ('0' in params) {
      const { '0': _rest, ...named } = params;
      return one(f.data, named);
    }
    return one(f.data, params);
  }
}

/** memoirist behind the Router interface. */
class MemoiristRouter implements AnyRouter {
  name = 'memoirist';
  private readonly r = new Memoirist<string>();
  add(method: string, path: string, handler: string): void {
    this.r.add(method, path, handler);
  }
  match(method: string, path: string): Result<string> {
    const f = this.r.find(method, path) as { store: string; params: Params } | null;
    if (!f) return NONE;
    if ('*' in f.params) {
      const { '*': _rest, ...named } = f.params;
      return one(f.store, named);
    }
    return one(f.store, f.params);
  }
}

const ROOT = new URL('..', import.meta.url);
const wasmBytes = (name: string): Uint8Array<ArrayBuffer> => readFileSync(new URL(`wasm/build/${name}`, ROOT));
const plainModule = new WebAssembly.Module(wasmBytes('portico.wasm'));
const jsStringModule = compileJsStringHot(wasmBytes('portico.js-string.wasm'));
const hotOf = (module: WebAssembly.Module): HotExports => instantiateHot(module);

export interface RouterContestant {
  id: string;
  label: string;
  family: 'portico' | 'js';
  make: () => AnyRouter;
}

/** Every router of the table, in its rows' order (bench/router-instructions.ts counts the same ones). */
export const CONTESTANTS: RouterContestant[] = [
  ...(jsStringModule
    ? [
        {
          id: 'portico-js-string',
          label: 'PorticoRouter (Wasm, in place)',
          family: 'portico' as const,
          make: () => new PorticoRouter<string>(hotOf(jsStringModule)),
        },
      ]
    : []),
  { id: 'portico', label: 'PorticoRouter (Wasm)', family: 'portico', make: () => new PorticoRouter<string>(hotOf(plainModule)) },
  { id: 'hono-regexp', label: 'Hono RegExpRouter', family: 'js', make: () => new RegExpRouter<string>() },
  { id: 'hono-trie', label: 'Hono TrieRouter', family: 'js', make: () => new TrieRouter<string>() },
  {
    id: 'hono-smart',
    label: 'Hono SmartRouter',
    family: 'js',
    make: () => new SmartRouter<string>({ routers: [new RegExpRouter<string>(), new TrieRouter<string>()] }),
  },
  { id: 'find-my-way', label: 'find-my-way', family: 'js', make: () => new FindMyWayRouter() },
  { id: 'koa-tree-router', label: 'koa-tree-router', family: 'js', make: () => new KoaTreeRouterAdapter() },
  { id: 'medley', label: '@medley/router', family: 'js', make: () => new MedleyRouter() },
  { id: 'rou3-compiled', label: 'rou3 (compiled)', family: 'js', make: () => new Rou3CompiledRouter() },
  { id: 'memoirist', label: 'memoirist', family: 'js', make: () => new MemoiristRouter() },
];

/** Handlers and params of a Result, in one comparable form whatever the Result's shape. */
function answer(router: AnyRouter, method: string, path: string): string {
  const [matches, stash] = router.match(method, path) as [[string, Record<string, unknown>][], string[] | undefined];
  return JSON.stringify(
    matches.map(([handler, params]) => [
      handler,
      Object.fromEntries(
        Object.entries(params)
          .map(([k, v]) => [k, stash ? stash[v as number] : v] as const)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ),
    ]),
  );
}

/** One table's results: ns per match by contestant and case, and why a router was not timed. */
export interface RouterTableResult {
  table: string;
  title: string;
  routes: number;
  cases: { id: CaseId; request: string }[];
  ns: Record<string, Partial<Record<CaseId, number>>>;
  excluded: Record<string, string>;
}

export interface RouterBenchResult {
  node: string;
  v8: string;
  loadavg: number[];
  rounds: number;
  calls: number;
  contestants: { id: string; label: string; family: 'portico' | 'js' }[];
  tables: RouterTableResult[];
}

const URLS = 4096;

/** Times every contestant on the Hono and GitHub tables in this process. */
export function runRouterBench(options: { rounds?: number; calls?: number } = {}): RouterBenchResult {
  const rounds = options.rounds ?? 5;
  const calls = options.calls ?? 200_000;
  const tables = loadTables({ multiTenantRoutes: 25 }).filter((t) => t.id === 'hono' || t.id === 'github');
  const out: RouterTableResult[] = [];
  for (const table of tables) {
    const cases = table.cases.filter((c): c is RequestCase => !isSkipped(c));
    const single = cases.filter((c) => c.id !== 'mixed');
    const result: RouterTableResult = {
      table: table.id,
      title: table.title,
      routes: table.routes.length,
      cases: cases.map((c) => ({ id: c.id, request: c.id === 'mixed' ? 'cycles through the others' : `${c.method} ${c.path}` })),
      ns: {},
      excluded: {},
    };
    const routers = new Map<string, AnyRouter>();
    let reference: AnyRouter | undefined;
    for (const c of CONTESTANTS) {
      const router = c.make();
      try {
        table.routes.forEach((r, i) => {
          router.add(r.method, r.path, `r${i}`);
        });
      } catch (error) {
        result.excluded[c.id] = `add threw: ${(error as Error).message}`;
        continue;
      }
      if (c.id === 'hono-trie') reference = router;
      routers.set(c.id, router);
    }
    for (const [id, router] of routers) {
      for (const c of single) {
        const want = answer(reference!, c.method, c.path);
        const got = answer(router, c.method, c.path);
        if (got !== want) {
          result.excluded[id] = `${c.method} ${c.path}: answered ${got}, TrieRouter ${want}`;
          break;
        }
      }
    }
    for (const c of cases) {
      const requests = c.id === 'mixed' ? single : [c];
      const urls = Array.from({ length: URLS }, (_, i) => {
        const r = requests[i % requests.length]!;
        return [r.method, `http://localhost${r.path}?n=${i}`] as const;
      });
      for (const [id, router] of routers) {
        if (result.excluded[id]) continue;
        let sink = 0;
        const run = (): void => {
          for (let i = 0; i < calls; i++) {
            const [m, u] = urls[i & (URLS - 1)]!;
            sink += router.match(m, u.slice(16, u.indexOf('?', 16)))[0].length;
          }
        };
        run();
        const times: number[] = [];
        for (let k = 0; k < rounds; k++) {
          const before = process.cpuUsage();
          run();
          const used = process.cpuUsage(before);
          times.push(((used.user + used.system) * 1000) / calls);
        }
        if (sink < 0) console.log(sink);
        times.sort((a, b) => a - b);
        const row = result.ns[id] ?? {};
        row[c.id] = times[Math.floor(times.length / 2)]!;
        result.ns[id] = row;
      }
    }
    out.push(result);
  }
  return {
    node: process.versions.node,
    v8: process.versions.v8,
    loadavg: loadavg(),
    rounds,
    calls,
    contestants: CONTESTANTS.map(({ id, label, family }) => ({ id, label, family })),
    tables: out,
  };
}

const TITLES: Record<CaseId, string> = {
  static: 'static',
  param1: '1 param',
  param3: '3 params',
  wildcard: 'wildcard',
  notFound: '404',
  mixed: 'mixed',
};

const fmtNs = (ns: number): string => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(ns >= 100 ? 0 : 1)} ns`);

/** Median over runs of one cell's ns, or undefined. */
function cellMedian(runs: RouterBenchResult[], t: number, id: string, c: CaseId): number | undefined {
  const xs = runs
    .map((r) => r.tables[t]?.ns[id]?.[c])
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  return xs.length ? xs[Math.floor(xs.length / 2)] : undefined;
}

/** Median over runs of the per-run ratio to the fastest JS router of that run's column. */
function cellRatio(runs: RouterBenchResult[], t: number, id: string, c: CaseId): number | undefined {
  const xs: number[] = [];
  for (const r of runs) {
    const table = r.tables[t];
    const mine = table?.ns[id]?.[c];
    if (!table || mine === undefined) continue;
    const js = r.contestants
      .filter((k) => k.family === 'js')
      .map((k) => table.ns[k.id]?.[c])
      .filter((x): x is number => x !== undefined);
    if (js.length) xs.push(mine / Math.min(...js));
  }
  xs.sort((a, b) => a - b);
  return xs.length ? xs[Math.floor(xs.length / 2)] : undefined;
}

/** Markdown tables, one per route table: median ns (ratio to the fastest JS router). */
export function renderRouterTables(runs: RouterBenchResult[]): string[] {
  const first = runs[0]!;
  const lines: string[] = [];
  first.tables.forEach((table, t) => {
    lines.push(`#### ${table.title}, through the Router interface`, '');
    lines.push(`| router | ${table.cases.map((c) => TITLES[c.id]).join(' | ')} |`);
    lines.push(`| --- | ${table.cases.map(() => '---:').join(' | ')} |`);
    for (const k of first.contestants) {
      if (table.excluded[k.id]) {
        lines.push(`| ${k.label} | not timed: ${table.excluded[k.id]!.replace(/\|/g, '\\|')} |`);
        continue;
      }
      const cells = table.cases.map((c) => {
        const ns = cellMedian(runs, t, k.id, c.id);
        const ratio = cellRatio(runs, t, k.id, c.id);
        return ns === undefined ? 'n/a' : `${fmtNs(ns)} (${ratio!.toFixed(2)}×)`;
      });
      lines.push(`| ${k.label} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  });
  return lines;
}

/** The goals of the Router-interface table, for the best PorticoRouter of these runs. */
export function routerGoals(runs: RouterBenchResult[]): { goal: string; value: string; met: boolean | null }[] {
  const first = runs[0]!;
  const best = first.contestants.find((c) => c.id === 'portico-js-string') ? 'portico-js-string' : 'portico';
  const goals: { goal: string; value: string; met: boolean | null }[] = [];
  first.tables.forEach((table, t) => {
    const push = (c: CaseId, target: number): void => {
      const r = cellRatio(runs, t, best, c);
      goals.push({
        goal: `Router interface, ${table.title}, ${TITLES[c]}: PorticoRouter ≤ ${target.toFixed(1)}× the fastest JS router`,
        value: r === undefined ? 'n/a' : `${r.toFixed(2)}×`,
        met: r === undefined ? null : r <= target,
      });
    };
    if (table.table === 'github') push('mixed', 0.7);
    if (table.table === 'hono') for (const c of table.cases) push(c.id, 1.0);
  });
  return goals;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const argv = process.argv.slice(2);
  const rounds = Number(argv[argv.indexOf('--rounds') + 1]) || 5;
  const result = runRouterBench({ rounds });
  if (argv.includes('--json')) process.stdout.write(`@@router-run ${JSON.stringify(result)}\n`);
  else {
    console.log(`Node ${result.node} (V8 ${result.v8}), load average ${result.loadavg.map((x) => x.toFixed(2)).join(' ')}\n`);
    console.log(renderRouterTables([result]).join('\n'));
    for (const g of routerGoals([result])) console.log(`- ${g.met ? 'met' : 'NOT met'}: ${g.goal}: ${g.value}`);
  }
}
