/**
 * Instructions a `match` through Hono's Router interface, counted under valgrind's callgrind
 * (Debian `valgrind`) instead of timed: on these shared machines a router's time per call moves
 * by ±30% between processes (bench/README.md, hono-router.ts), which hides any change of a few
 * percent. A count does not move with the neighbours, but it moves with V8's tiering: with
 * concurrent compilation a count of the same code came out 673 and 2,819 instructions a call in
 * two runs. So the Node under callgrind runs with `--single-threaded` (compilation on the main
 * thread, at the same point every run): two runs of one cell then agree within a few
 * instructions on a quiet machine (beside other load a pair was once 200 off, once negative:
 * repeat a cell before trusting a difference under about 10%).
 *
 * Each cell runs twice, with the same warm-up (WARM_CHUNKS chunks of 10,000 calls, enough for
 * TurboFan) and with 0 and then MEASURED_CALLS more calls; the difference of the two totals,
 * divided by MEASURED_CALLS, is what one call costs, start-up and compilation taken out. A call is
 * what hono-router.ts times: the path sliced from one of 4,096 distinct URLs, then `match`.
 *
 * Usage: npx tsx bench/router-instructions.ts [--table hono|github] [--cases static,param1,...]
 *   [--routers portico-js-string,portico,memoirist,...] [--node PATH]
 * Prints instructions a call per router and case, and the harness floor (the slice alone).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONTESTANTS } from './hono-router.ts';
import { TS_LOADER } from './_loader.ts';
import { isSkipped, loadTables, type RequestCase } from './_tables.ts';

const SELF = fileURLToPath(import.meta.url);
const WARM_CHUNKS = 300;
const CHUNK = 10_000;
const MEASURED_CALLS = 1_000_000;
const URLS = 4096;

/** The routers of hono-router.ts, by id (the in-place PorticoRouter only where the engine links it). */
const ROUTERS = new Map(CONTESTANTS.map((c) => [c.id, c.make] as const));

/** The child: builds the router, warms it, then makes `calls` more calls. */
function child(routerId: string, tableId: string, caseId: string, calls: number): void {
  const table = loadTables({ multiTenantRoutes: 25 }).find((t) => t.id === tableId);
  const c = table?.cases.find((k) => k.id === caseId);
  if (!table || !c || isSkipped(c)) throw new Error(`no case ${tableId}/${caseId}`);
  const request = c as RequestCase;
  const make = ROUTERS.get(routerId);
  if (routerId !== 'floor' && make === undefined) throw new Error(`no router ${routerId} on this engine`);
  const router = make ? make() : null;
  if (router) {
    table.routes.forEach((r, i) => {
      router.add(r.method, r.path, `r${i}`);
    });
  }
  const urls = Array.from({ length: URLS }, (_, i) => `http://localhost${request.path}?n=${i}`);
  const method = request.method;
  const run = router
    ? (n: number): number => {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const u = urls[i & (URLS - 1)]!;
          sink += router.match(method, u.slice(16, u.indexOf('?', 16)))[0].length;
        }
        return sink;
      }
    : (n: number): number => {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const u = urls[i & (URLS - 1)]!;
          sink += u.slice(16, u.indexOf('?', 16)).length;
        }
        return sink;
      };
  let sink = 0;
  for (let k = 0; k < WARM_CHUNKS; k++) sink += run(CHUNK);
  for (let k = 0; k < calls / CHUNK; k++) sink += run(CHUNK);
  if (sink < 0) process.stdout.write(`${sink}\n`);
}

/** Total instructions of one child run under callgrind. */
function count(node: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      'valgrind',
      [
        '--tool=callgrind',
        '--smc-check=all-non-file',
        '--callgrind-out-file=/dev/null',
        node,
        '--single-threaded',
        '--import',
        TS_LOADER,
        SELF,
        '--child',
        ...args,
      ],
      { maxBuffer: 1 << 24 },
      (err, _out, stderr) => {
        if (err) return reject(new Error(`valgrind: ${stderr.slice(-2000) || err.message}`));
        const m = /Collected : (\d+)/.exec(stderr);
        if (!m) return reject(new Error(`no "Collected" line from callgrind: ${stderr.slice(-500)}`));
        resolve(Number(m[1]));
      },
    );
  });
}

async function main(argv: string[]): Promise<void> {
  const opt = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const tableId = opt('--table') ?? 'hono';
  const node = opt('--node') ?? process.execPath;
  const table = loadTables({ multiTenantRoutes: 25 }).find((t) => t.id === tableId);
  if (!table) throw new Error(`--table must be hono or github, got ${tableId}`);
  const cases = (opt('--cases')?.split(',') ?? table.cases.map((c) => c.id)).filter((id) => {
    const c = table.cases.find((k) => k.id === id);
    return c !== undefined && !isSkipped(c) && id !== 'mixed';
  });
  const routers = ['floor', ...(opt('--routers')?.split(',') ?? [...ROUTERS.keys()])];
  const cells = routers.flatMap((r) => cases.map((c) => ({ r, c })));
  const rows = new Map<string, Map<string, number>>();
  // Two valgrinds at a time: one a core here.
  const queue = [...cells];
  const work = async (): Promise<void> => {
    for (let cell = queue.shift(); cell; cell = queue.shift()) {
      const base = await count(node, [cell.r, tableId, cell.c, '0']);
      const more = await count(node, [cell.r, tableId, cell.c, String(MEASURED_CALLS)]);
      const row = rows.get(cell.r) ?? new Map<string, number>();
      row.set(cell.c, (more - base) / MEASURED_CALLS);
      rows.set(cell.r, row);
      process.stderr.write(`${cell.r} ${cell.c}: ${((more - base) / MEASURED_CALLS).toFixed(0)}\n`);
    }
  };
  await Promise.all([work(), work()]);
  const version = await new Promise<string>((resolve) => execFile(node, ['--version'], (_e, out) => resolve(String(out).trim())));
  console.log(`${table.title}: instructions a call (callgrind, Node ${version} --single-threaded)\n`);
  console.log(`| router | ${cases.join(' | ')} |`);
  console.log(`| --- | ${cases.map(() => '---:').join(' | ')} |`);
  for (const r of routers) {
    const row = rows.get(r);
    console.log(
      `| ${r === 'floor' ? '(harness floor)' : r} | ${cases.map((c) => row?.get(c)?.toFixed(0) ?? 'n/a').join(' | ')} |`,
    );
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') child(argv[1]!, argv[2]!, argv[3]!, Number(argv[4]));
else
  main(argv).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  });
