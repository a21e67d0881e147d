/**
 * Observation's cost on forwarding: the Node target forwarding GETs to one origin with the
 * `observability` block off and on (metrics at /metrics, trace context, access log at every
 * request), in the same run, measured with `wrk` (Debian `wrk`). The origin is the forwarding
 * benchmark's (bench/_forwarding-servers.ts origin); each gateway is a process of its own,
 * started by this file. Both gateways write their access lines to stdout, which is discarded.
 * Goal: metrics and logs on at least 0.97x of off.
 *
 * Each pair of gateways is measured for some rounds (back to back, the order alternating, then
 * both loaded at once), then stopped, and a fresh pair started, the other one first: the result
 * is the median over the pairs, since one process can be a few per cent faster than another of
 * the same code for its whole life.
 *
 * Besides the rates, it reports each gateway's CPU time per request (user + system, from
 * /proc/<pid>/stat over each measured wrk run, divided by the requests wrk made): on a shared
 * machine the rate moves with whatever else runs, the CPU a request costs much less so.
 *
 * @example
 * // npx tsx bench/observe.ts [--pairs 5] [--rounds 6] [--seconds 2] [--warmup 0] [--aa]
 *   --warmup S: S seconds of wrk on each gateway of a pair before its rounds (Node 24 needs ~15)
 *   --aa: the control, both gateways without observation (the ratios then show the method's noise)
 * // npx tsx bench/observe.ts --instructions [--blocks 4] [--requests 2500] [--aa]
 *   counts instructions instead of timing: each gateway runs under `valgrind --tool=callgrind`
 *   (Debian `valgrind`), loaded by `ab -k -c8` (Debian `apache2-utils`) for a warm-up and then
 *   blocks of requests, each block's instructions dumped on its own. A count does not move with
 *   what else the machine runs, where rates here moved by ±20% in an hour. It counts user-space
 *   instructions only (not the kernel's socket work, the same for both), and the first block
 *   after the warm-up is left out of the sum (the JIT still tiers up there).
 *   --warm-requests N: requests of warm-up before the counts are zeroed (default 4000; Node 24
 *   needs some 30,000).
 *   --keep DIR: keeps the dumps in DIR/off and DIR/on, for `callgrind_annotate` (which functions
 *   the difference is in: V8's builtins, its GC and libuv have names there, JIT code does not).
 *   (server mode, used by the benchmark itself: observe.ts serve <off|on> <port> <origin URL>)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ab } from './_ab.ts';
import { callgrindWrapper, dumpCounts, dumpTotals, slowLiteralNote, slowLiteralShares, zeroCounts } from './_callgrind.ts';
import { TS_LOADER } from './_loader.ts';
import { freePort } from './_ports.ts';
import { cpuMs } from './_proc.ts';

const SELF = fileURLToPath(import.meta.url);
const SERVERS = fileURLToPath(new URL('./_forwarding-servers.ts', import.meta.url));
const ADMIN = 'bench-admin-token-0123456789abcdef0123';

async function serve(mode: string, port: number, origin: string): Promise<void> {
  const { compileConfig } = await import('../core/config/index.ts');
  const { loadNodeHot } = await import('../targets/node/hot.ts');
  const { startNodeServer } = await import('../targets/node/server.ts');
  const config = await compileConfig({
    origins: { o: { url: origin, region: 'local' } },
    admin: { token: { env: 'BENCH_ADMIN' } },
    routes: [{ id: 'all', match: { path: '/*' }, upstream: 'o' }],
    ...(mode === 'on' ? { observability: { metrics: {}, tracing: { sampleRatio: 0 } } } : {}),
  });
  await startNodeServer(config, {
    port,
    host: '127.0.0.1',
    hot: await loadNodeHot('wasm'),
    secrets: (n) => (n === 'BENCH_ADMIN' ? ADMIN : undefined),
  });
  // A clean exit on SIGINT, so that `node --cpu-prof` writes its profile of the server.
  process.once('SIGINT', () => process.exit(0));
  process.stdout.write(`ready ${port}\n`);
}

/**
 * Starts this file (or the forwarding servers) in a Node of its own and resolves once it prints
 * `ready`; `wrapper` runs that Node under another program (valgrind).
 */
function start(args: string[], wrapper: string[] = []): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const node = [process.execPath, '--import', TS_LOADER, ...args];
    const [cmd, ...rest] = wrapper.length > 0 ? [...wrapper, ...node] : node;
    const child = spawn(cmd as string, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = '';
    const onData = (c: Buffer): void => {
      seen += c.toString();
      if (seen.includes('ready ')) {
        // Keep draining stdout (the access lines) so the server never blocks on it.
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

function wrk(url: string, seconds: number, connections = 32): Promise<{ rps: number; requests: number }> {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url], (err, stdout) => {
      if (err) return reject(err);
      const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      const n = /(\d+) requests in/.exec(stdout);
      if (!m || !n) return reject(new Error(`no rate in wrk output: ${stdout}`));
      if (/Non-2xx/.test(stdout)) return reject(new Error(`wrk saw errors: ${stdout}`));
      resolve({ rps: Number(m[1]), requests: Number(n[1]) });
    });
  });
}

type Mode = 'off' | 'on';

interface PairResult {
  /** The median of the rounds' paired ratios, on / off. */
  paired: number;
  rates: Record<Mode, number[]>;
  /** CPU per request (µs) of each round. */
  cpu: Record<Mode, number[]>;
  /** CPU and requests summed over the rounds. */
  total: Record<Mode, { ms: number; requests: number }>;
  /** Both loaded at once: the rounds' on / off rates and off / on CPU a request. */
  together: { rate: number; cpu: number }[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * One pair of gateway processes, fresh, measured for `rounds` rounds: back to back (the order
 * alternating), then both at once. `onFirst` starts the "on" process first.
 */
async function measurePair(
  originUrl: string,
  control: boolean,
  onFirst: boolean,
  rounds: number,
  seconds: number,
  warmup: number,
): Promise<PairResult> {
  const ports = { off: await freePort(), on: await freePort() };
  const procs: Partial<Record<Mode, ChildProcess>> = {};
  const startMode = async (mode: Mode) => {
    procs[mode] = await start([SELF, 'serve', mode === 'on' && !control ? 'on' : 'off', String(ports[mode]), originUrl]);
  };
  try {
    for (const mode of onFirst ? (['on', 'off'] as const) : (['off', 'on'] as const)) await startMode(mode);
    // The inputs: both answer the route, and the "on" gateway counts it at /metrics.
    for (const p of Object.values(ports)) {
      const r = await fetch(`http://127.0.0.1:${p}/items`);
      if (r.status !== 200) throw new Error(`gateway on ${p} answered ${r.status}`);
      await r.text();
    }
    const m = await (
      await fetch(`http://127.0.0.1:${ports.on}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).text();
    if (!control && !/portico_requests_total\{route="all"/.test(m))
      throw new Error('the "on" gateway does not count its requests');
    // Node 24 still compiles some 30,000 requests in (bench/README.md): both get a long warm-up.
    for (const mode of ['off', 'on'] as const) if (warmup > 0) await wrk(`http://127.0.0.1:${ports[mode]}/items`, warmup);
    const pids = { off: procs.off?.pid ?? 0, on: procs.on?.pid ?? 0 };
    const rates: Record<Mode, number[]> = { off: [], on: [] };
    const cpu: Record<Mode, number[]> = { off: [], on: [] };
    // CPU and requests summed over all rounds: the 10 ms ticks of /proc round each run's figure.
    const total = { off: { ms: 0, requests: 0 }, on: { ms: 0, requests: 0 } };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const mode of order) {
        await wrk(`http://127.0.0.1:${ports[mode]}/items`, 1);
        const before = cpuMs(pids[mode]);
        const run = await wrk(`http://127.0.0.1:${ports[mode]}/items`, seconds);
        rates[mode].push(run.rps);
        const ms = cpuMs(pids[mode]) - before;
        cpu[mode].push((ms * 1000) / run.requests);
        total[mode].ms += ms;
        total[mode].requests += run.requests;
      }
    }
    // Then both at once, half the connections each: whatever else the machine runs meanwhile
    // slows both alike, where back-to-back runs each see their own moment of it.
    const together: { rate: number; cpu: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      await Promise.all([wrk(`http://127.0.0.1:${ports.off}/items`, 1, 16), wrk(`http://127.0.0.1:${ports.on}/items`, 1, 16)]);
      const before = { off: cpuMs(pids.off), on: cpuMs(pids.on) };
      const [a, b] = await Promise.all([
        wrk(`http://127.0.0.1:${ports.off}/items`, seconds, 16),
        wrk(`http://127.0.0.1:${ports.on}/items`, seconds, 16),
      ]);
      const offUs = ((cpuMs(pids.off) - before.off) * 1000) / a.requests;
      const onUs = ((cpuMs(pids.on) - before.on) * 1000) / b.requests;
      together.push({ rate: b.rps / a.rps, cpu: offUs / onUs });
    }
    // Each round runs the two back to back, so a round's ratio sees the same load on both: the
    // median of those is steadier on a shared machine than the ratio of the two medians.
    const paired = median(rates.on.map((r, i) => r / (rates.off[i] as number)));
    return { paired, rates, cpu, total, together };
  } finally {
    for (const c of Object.values(procs)) c?.kill('SIGTERM');
  }
}

/**
 * One gateway under callgrind: a warm-up, then `blocks` blocks of `requests`, the counters
 * zeroed after the warm-up and dumped after each block. Returns each block's instructions.
 */
async function countInstructions(
  mode: 'off' | 'on',
  originUrl: string,
  blocks: number,
  requests: number,
  keep: string | null,
  warm: number,
): Promise<{ totals: number[]; slow: number[] }> {
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'portico-callgrind-'));
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child = await start([SELF, 'serve', mode, String(port), originUrl], callgrindWrapper(dir));
  const url = `http://127.0.0.1:${port}/items`;
  try {
    const pid = child.pid as number;
    await ab(url, warm);
    await zeroCounts(pid);
    for (let b = 0; b < blocks; b++) {
      await ab(url, requests);
      await dumpCounts(pid);
    }
    const totals = dumpTotals(dir);
    if (totals.length !== blocks) throw new Error(`expected ${blocks} callgrind dumps, found ${totals.length} in ${dir}`);
    return { totals, slow: slowLiteralShares(dir) };
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    });
    if (keep === null) rmSync(dir, { recursive: true, force: true });
  }
}

async function instructions(args: string[], opt: (name: string, fallback: number) => number): Promise<void> {
  const blocks = opt('--blocks', 4);
  const requests = opt('--requests', 2500);
  // Node 24 compiles for some 30,000 requests: 4,000 is enough on Node 20 only.
  const warm = opt('--warm-requests', 4000);
  if (blocks < 2) throw new Error('--blocks must be at least 2 (the first is left out of the sum)');
  const control = args.includes('--aa');
  const originPort = await freePort();
  const origin = await start([SERVERS, 'origin', String(originPort)]);
  try {
    const originUrl = `http://127.0.0.1:${originPort}`;
    // Both at once: each runs on its own core where there are two, and counts do not mind sharing.
    const i = args.indexOf('--keep');
    const keep = i >= 0 ? (args[i + 1] ?? null) : null;
    const [offRun, onRun] = await Promise.all([
      countInstructions('off', originUrl, blocks, requests, keep && join(keep, 'off'), warm),
      countInstructions(control ? 'off' : 'on', originUrl, blocks, requests, keep && join(keep, 'on'), warm),
    ]);
    const off = offRun.totals;
    const on = onRun.totals;
    const perRequest = (xs: number[]) => xs.map((x) => (x / requests / 1000).toFixed(1)).join(', ');
    const sum = (xs: number[]) => xs.slice(1).reduce((a, b) => a + b, 0) / ((blocks - 1) * requests);
    process.stdout.write(
      `instructions a request (thousands), each block of ${requests}: off ${perRequest(off)}; on ${perRequest(on)}\n` +
        `blocks 2-${blocks}: off ${(sum(off) / 1000).toFixed(1)}k, on ${(sum(on) / 1000).toFixed(1)}k a request; ` +
        `on / off ${(sum(on) / sum(off)).toFixed(3)}x (user-space instructions, Node ${process.versions.node})\n` +
        (control ? 'CONTROL RUN (--aa): both gateways run without observation.\n' : '') +
        slowLiteralNote('off', offRun.slow) +
        slowLiteralNote('on', onRun.slow),
    );
  } finally {
    origin.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  if (args.includes('--instructions')) return instructions(args, opt);
  // Two processes of the same code can differ by a few per cent for as long as they live (their
  // JIT's choices, their heaps' layout): seen here, an A/A pair where the second process ran
  // 3.5% faster in 7 of 8 rounds. So each pair of gateways is fresh, the one started first
  // alternates, and the result is the median over the pairs.
  const pairs = opt('--pairs', 5);
  const rounds = opt('--rounds', 6);
  const seconds = opt('--seconds', 2);
  const warmup = opt('--warmup', 0);
  // The control: both gateways without observation, so the spread of an A/A comparison shows.
  const control = args.includes('--aa');
  const originPort = await freePort();
  const origin = await start([SERVERS, 'origin', String(originPort)]);
  const originUrl = `http://127.0.0.1:${originPort}`;
  try {
    const results: PairResult[] = [];
    for (let i = 0; i < pairs; i++) {
      const r = await measurePair(originUrl, control, i % 2 === 1, rounds, seconds, warmup);
      results.push(r);
      const sum = (mode: Mode) => (r.total[mode].ms * 1000) / r.total[mode].requests;
      process.stdout.write(
        `pair ${i + 1} (${i % 2 === 1 ? '"on"' : '"off"'} started first): on / off ${r.paired.toFixed(3)}x ` +
          `(rounds ${r.rates.on.map((x, j) => (x / (r.rates.off[j] as number)).toFixed(3)).join(', ')}); ` +
          `CPU a request off ${sum('off').toFixed(1)} µs, on ${sum('on').toFixed(1)} µs; ` +
          `at once ${median(r.together.map((t) => t.rate)).toFixed(3)}x\n`,
      );
    }
    const cpuRatio = (r: PairResult) => r.total.off.ms / r.total.off.requests / (r.total.on.ms / r.total.on.requests);
    const offRps = median(results.flatMap((r) => r.rates.off));
    const onRps = median(results.flatMap((r) => r.rates.on));
    const list = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(', ');
    const paired = results.map((r) => r.paired);
    const together = results.map((r) => median(r.together.map((t) => t.rate)));
    const cpus = results.map(cpuRatio);
    process.stdout.write(
      `observation off: ${offRps.toFixed(0)} req/s, on: ${onRps.toFixed(0)} req/s (medians of every run)\n` +
        `on / off: ${median(paired).toFixed(3)}x, median over ${pairs} pairs of processes (goal at least 0.97x); pairs ${list(paired)}\n` +
        `both loaded at once: on / off ${median(together).toFixed(3)}x; pairs ${list(together)}\n` +
        `CPU a request, off / on, summed over each pair's rounds: ${median(cpus).toFixed(3)}x; pairs ${list(cpus)}\n` +
        (control ? 'CONTROL RUN (--aa): both gateways run without observation; the ratios show the noise of the method.\n' : ''),
    );
  } finally {
    origin.kill('SIGTERM');
  }
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3] ?? 'off', Number(process.argv[4]), process.argv[5] ?? '');
} else {
  await main();
  process.exit(0);
}
