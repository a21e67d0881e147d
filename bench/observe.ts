/**
 * Observation's cost on forwarding: the Node target forwarding GETs to one origin with the
 * `observability` block off and on (metrics at /metrics, trace context, access log at every
 * request), in the same run, measured with `wrk` (Debian `wrk`). The origin is the forwarding
 * benchmark's (bench/_forwarding-servers.ts origin); each gateway is a process of its own,
 * started by this file. Both gateways write their access lines to stdout, which is discarded.
 * Goal: metrics and logs on at least 0.97x of off.
 *
 * Besides the rates, it reports each gateway's CPU time per request (user + system, from
 * /proc/<pid>/stat over each measured wrk run, divided by the requests wrk made): on a shared
 * machine the rate moves with whatever else runs, the CPU a request costs much less so.
 *
 * @example
 * // npx tsx bench/observe.ts [--rounds 3] [--seconds 5] [--aa]
 *   --aa: the control, both gateways without observation (the ratios then show the method's noise)
 *   (server mode, used by the benchmark itself: observe.ts serve <off|on> <port> <origin URL>)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TS_LOADER } from './_loader.ts';

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

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function start(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TS_LOADER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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

/** A process's CPU time so far (user + system), in milliseconds; /proc counts clock ticks of 10 ms. */
function cpuMs(pid: number): number {
  // The fields after the command (which may hold spaces) start at state: utime and stime are 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
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

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const rounds = opt('--rounds', 3);
  const seconds = opt('--seconds', 5);
  // The control: both gateways without observation, so the spread of an A/A comparison shows.
  const control = args.includes('--aa');
  const originPort = await freePort();
  const origin = await start([SERVERS, 'origin', String(originPort)]);
  const originUrl = `http://127.0.0.1:${originPort}`;
  const ports = { off: await freePort(), on: await freePort() };
  const off = await start([SELF, 'serve', 'off', String(ports.off), originUrl]);
  const on = await start([SELF, 'serve', control ? 'off' : 'on', String(ports.on), originUrl]);
  try {
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
    const rates: Record<'off' | 'on', number[]> = { off: [], on: [] };
    const cpu: Record<'off' | 'on', number[]> = { off: [], on: [] };
    // CPU and requests summed over all rounds: the 10 ms ticks of /proc round each run's figure.
    const total = { off: { ms: 0, requests: 0 }, on: { ms: 0, requests: 0 } };
    const pids = { off: off.pid ?? 0, on: on.pid ?? 0 };
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
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const offRps = median(rates.off);
    const onRps = median(rates.on);
    const offCpu = median(cpu.off);
    const onCpu = median(cpu.on);
    // Each round runs the two back to back, so a round's ratio sees the same load on both: the
    // median of those is steadier on a shared machine than the ratio of the two medians.
    const paired = median(rates.on.map((r, i) => r / (rates.off[i] as number)));
    const sumUs = (mode: 'off' | 'on') => (total[mode].ms * 1000) / total[mode].requests;
    const us = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
    process.stdout.write(
      `observation off: ${offRps.toFixed(0)} req/s (runs ${rates.off.map((x) => x.toFixed(0)).join(', ')})\n` +
        `observation on:  ${onRps.toFixed(0)} req/s (runs ${rates.on.map((x) => x.toFixed(0)).join(', ')})\n` +
        `on / off: ${paired.toFixed(3)}x, median of the rounds' ratios (goal at least 0.97x); ratio of the medians ${(onRps / offRps).toFixed(3)}x\n` +
        `CPU per request: off ${offCpu.toFixed(1)} µs (runs ${us(cpu.off)}), on ${onCpu.toFixed(1)} µs (runs ${us(cpu.on)})\n` +
        `observation costs ${(onCpu - offCpu).toFixed(1)} µs of CPU a request (medians); off / on CPU: ${(offCpu / onCpu).toFixed(3)}x\n` +
        `over all rounds: off ${sumUs('off').toFixed(1)} µs, on ${sumUs('on').toFixed(1)} µs of CPU a request; off / on ${(sumUs('off') / sumUs('on')).toFixed(3)}x\n` +
        `both loaded at once: on / off ${median(together.map((t) => t.rate)).toFixed(3)}x (rounds ${together.map((t) => t.rate.toFixed(3)).join(', ')}); ` +
        `CPU a request off / on ${median(together.map((t) => t.cpu)).toFixed(3)}x\n` +
        (control ? 'CONTROL RUN (--aa): both gateways run without observation; the ratios show the noise of the method.\n' : ''),
    );
  } finally {
    for (const c of [off, on, origin]) c.kill('SIGTERM');
  }
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3] ?? 'off', Number(process.argv[4]), process.argv[5] ?? '');
} else {
  await main();
  process.exit(0);
}
