/**
 * Observation's cost on forwarding: the Node target forwarding GETs to one origin with the
 * `observability` block off and on (metrics at /metrics, trace context, access log at every
 * request), in the same run, measured with `wrk` (Debian `wrk`). The origin is the forwarding
 * benchmark's (bench/_forwarding-servers.ts origin); each gateway is a process of its own,
 * started by this file. Both gateways write their access lines to stdout, which is discarded.
 * Goal: metrics and logs on at least 0.97x of off.
 *
 * @example
 * // npx tsx bench/observe.ts [--rounds 3] [--seconds 5]
 *   (server mode, used by the benchmark itself: observe.ts serve <off|on> <port> <origin URL>)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

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
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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

function wrk(url: string, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', '-c32', `-d${seconds}s`, url], (err, stdout) => {
      if (err) return reject(err);
      const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      if (!m) return reject(new Error(`no rate in wrk output: ${stdout}`));
      if (/Non-2xx/.test(stdout)) return reject(new Error(`wrk saw errors: ${stdout}`));
      resolve(Number(m[1]));
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
  const originPort = await freePort();
  const origin = await start([SERVERS, 'origin', String(originPort)]);
  const originUrl = `http://127.0.0.1:${originPort}`;
  const ports = { off: await freePort(), on: await freePort() };
  const off = await start([SELF, 'serve', 'off', String(ports.off), originUrl]);
  const on = await start([SELF, 'serve', 'on', String(ports.on), originUrl]);
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
    if (!/portico_requests_total\{route="all"/.test(m)) throw new Error('the "on" gateway does not count its requests');
    const rates: Record<'off' | 'on', number[]> = { off: [], on: [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const mode of order) {
        await wrk(`http://127.0.0.1:${ports[mode]}/items`, 1);
        rates[mode].push(await wrk(`http://127.0.0.1:${ports[mode]}/items`, seconds));
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const offRps = median(rates.off);
    const onRps = median(rates.on);
    process.stdout.write(
      `observation off: ${offRps.toFixed(0)} req/s (runs ${rates.off.map((x) => x.toFixed(0)).join(', ')})\n` +
        `observation on:  ${onRps.toFixed(0)} req/s (runs ${rates.on.map((x) => x.toFixed(0)).join(', ')})\n` +
        `on / off: ${(onRps / offRps).toFixed(3)}x (goal at least 0.97x)\n`,
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
