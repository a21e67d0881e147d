/**
 * The forwarding benchmark: requests per second through a proxy, measured with `wrk` (Debian:
 * `apt-get install -y wrk`), for portico's Node target (with its native relay, and with it off)
 * and reference proxies in the same run (see _forwarding-servers.ts): the Web-standard way
 * (Hono + global fetch), the fastest Node way we know (node:http + undici.stream, no routing or
 * header work), and nginx and Caddy from Debian, started here with configs in a temp directory
 * on 127.0.0.1 and stopped after. The origin alone is the ceiling. Every server is a process of
 * its own; wrk, the origin and the proxy share the machine's cores, so only ratios within a run
 * mean much.
 *
 * Each run: for every server in a rotated order, and for each workload (WORKLOADS: GETs of 1 KiB,
 * 64 KiB and 1 MiB, a POST of 1 KiB, 256 keep-alive connections, a new connection per request),
 * a warmup, then `wrk -t1 -cN -dS --latency`; requests/s, the p50/p99 latency and the proxy's CPU
 * time a request (from /proc) are kept.
 * Reported, per workload: medians over runs, and each server's requests/s over the
 * undici.stream proxy's in the same run. The Node servers run on `--node PATH` (or
 * PORTICO_BENCH_NODE), default the benchmark's own Node.
 *
 * @example
 * // npx tsx bench/forwarding.ts [--runs 3] [--seconds 5] [--warmup 3] [--node PATH] [--out bench/results] [--name forwarding]
 * //   (or: portico bench forwarding)
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { writeNginxConf } from '../scripts/nginx-conf.ts';
import { TS_LOADER } from './_loader.ts';
import { freePort } from './_ports.ts';
import { cpuMs } from './_proc.ts';

const SERVERS = fileURLToPath(new URL('./_forwarding-servers.ts', import.meta.url));
const CONTESTANTS = [
  { id: 'origin', label: 'origin alone (no proxy)' },
  { id: 'undici-stream', label: 'node:http + undici.stream (reference fast path)' },
  { id: 'hono-fetch', label: 'Hono + fetch on @hono/node-server (Web-standard proxy)' },
  { id: 'portico', label: 'portico (Node target, native relay)' },
  { id: 'portico-web', label: 'portico, web streams (nativeRelay off)' },
  { id: 'nginx', label: 'nginx (1 worker, keep-alive upstream)' },
  { id: 'caddy', label: 'Caddy reverse_proxy' },
] as const;

interface Sample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * Responses that were not 2xx plus socket errors (connect, read, write, timeout), as wrk counts
   * them; reported beside the figures (the answers themselves are checked before timing).
   */
  errors: number;
  /** The proxy's CPU time (user + system, its workers too) over the window, per request, in µs; NaN for the origin alone or without /proc. */
  cpuUs: number;
}

interface Started {
  url: string;
  child: ChildProcess;
}

/** Waits until something accepts connections on the port (nginx and Caddy print nothing useful). */
async function listening(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before it was ready`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** nginx from Debian, one worker, its config and temp files in a directory of their own. */
async function startNginx(origin: string): Promise<Started> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portico-nginx-'));
  const args = writeNginxConf(dir, {
    listen: `127.0.0.1:${port}`,
    upstream: new URL(origin).host,
    keepalive: 256,
    workerConnections: 4096,
    accessLog: true,
    http: ['keepalive_requests 100000;'],
    location: ['proxy_max_temp_file_size 0;'],
  });
  const child = spawn('nginx', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  await listening(port, child, 'nginx');
  return { url: `http://127.0.0.1:${port}`, child };
}

/** Caddy from Debian: one reverse_proxy site on plain HTTP, no admin endpoint. */
async function startCaddy(origin: string): Promise<Started> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portico-caddy-'));
  const file = join(dir, 'Caddyfile');
  writeFileSync(
    file,
    `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  reverse_proxy ${new URL(origin).host}
}
`,
  );
  const child = spawn('caddy', ['run', '--config', file, '--adapter', 'caddyfile'], {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
  await listening(port, child, 'caddy');
  return { url: `http://127.0.0.1:${port}`, child };
}

async function startServer(node: string, kind: string, origin = '', env: Record<string, string> = {}): Promise<Started> {
  if (kind === 'nginx') return startNginx(origin);
  if (kind === 'caddy') return startCaddy(origin);
  const port = await freePort();
  const child = spawn(node, ['--import', TS_LOADER, SERVERS, kind, String(port), origin], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let started = false;
    const timer = setTimeout(() => reject(new Error(`${kind} did not start within 20 s`)), 20_000);
    // Keep reading stdout to the end (portico logs every request there) so the pipe never fills.
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      if (started) return;
      out = (out + c).slice(-256);
      if (out.includes(`ready ${port}`)) {
        started = true;
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`${kind} exited with code ${code} before it was ready`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** The workloads: path, connections, and whether wrk POSTs 1 KiB or asks to close each connection. */
const WORKLOADS = [
  { id: 'get', title: 'GET of a 1 KiB JSON body, 32 connections', path: '/items', connections: 32 },
  {
    id: 'post',
    title: 'POST of a 1 KiB body, answered with the same 1 KiB JSON body, 32 connections',
    path: '/items',
    connections: 32,
    post: true,
  },
  { id: 'get64k', title: 'GET of a 64 KiB body, 32 connections', path: '/64k', connections: 32 },
  { id: 'get1m', title: 'GET of a 1 MiB body, 32 connections', path: '/1m', connections: 32 },
  { id: 'c256', title: 'GET of 1 KiB, 256 concurrent keep-alive connections', path: '/items', connections: 256 },
  {
    id: 'close',
    title: 'GET of 1 KiB, a new connection per request (Connection: close), 32 connections',
    path: '/items',
    connections: 32,
    header: 'Connection: close',
  },
] as const satisfies readonly {
  id: string;
  title: string;
  path: string;
  connections: number;
  post?: boolean;
  header?: string;
}[];

/** wrk's script for the POST workload, written once per run of the benchmark. */
function postScript(): string {
  const dir = mkdtempSync(join(tmpdir(), 'portico-wrk-'));
  const file = join(dir, 'post.lua');
  writeFileSync(
    file,
    'wrk.method = "POST"\nwrk.body = string.rep("x", 1024)\nwrk.headers["Content-Type"] = "application/octet-stream"\n',
  );
  return file;
}

function wrk(
  url: string,
  seconds: number,
  connections: number,
  script?: string,
  header?: string,
): Promise<Omit<Sample, 'cpuUs'> & { requests: number }> {
  return new Promise((resolve, reject) => {
    const args = [
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--latency',
      ...(script ? ['-s', script] : []),
      ...(header ? ['-H', header] : []),
      url,
    ];
    execFile('wrk', args, (error, stdout) => {
      if (error) return reject(new Error(`wrk failed (is it installed? apt-get install -y wrk): ${error.message}`));
      const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? NaN);
      const ms = (re: RegExp): number => {
        const m = re.exec(stdout);
        if (!m) return NaN;
        const v = Number(m[1]);
        return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
      };
      const non2xx = num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0;
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
      resolve({
        requests: num(/(\d+) requests in/),
        rps: num(/Requests\/sec:\s+([\d.]+)/),
        p50Ms: ms(/50%\s+([\d.]+)(us|ms|s)/),
        p99Ms: ms(/99%\s+([\d.]+)(us|ms|s)/),
        errors: non2xx + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
      });
    });
  });
}

/** A wrk window with the proxy's CPU a request over it (its workers too: nginx's is a child). */
async function measured(
  server: Started | null,
  load: () => Promise<Omit<Sample, 'cpuUs'> & { requests: number }>,
): Promise<Sample> {
  const pid = server?.child.pid;
  const before = pid === undefined ? Number.NaN : cpuMs(pid, true);
  const { requests, ...sample } = await load();
  const after = pid === undefined ? Number.NaN : cpuMs(pid, true);
  return { ...sample, cpuUs: ((after - before) * 1000) / requests };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Checks before timing: every contestant answers each workload's path with the origin's body, whole. */
async function checkAnswers(url: string, label: string): Promise<void> {
  for (const [path, size] of [
    ['/items', 1024],
    ['/64k', 64 * 1024],
    ['/1m', 1024 * 1024],
  ] as const) {
    const res = await fetch(url + path);
    const body = await res.arrayBuffer();
    if (res.status !== 200 || body.byteLength !== size) {
      throw new Error(`${label}: ${path} answered ${res.status} with ${body.byteLength} bytes, expected 200 with ${size}`);
    }
  }
}

/**
 * The auth workload's key and token: an ES256 key pair made for the run, the public half given
 * to portico's server inline, and one token valid for the whole run, sent by every request, so
 * after the first verify each request is a verified-token cache hit (what a client reusing its
 * token costs).
 */
async function jwtFixture(): Promise<{ env: Record<string, string>; header: string }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: 'bench', iat: now, exp: now + 3600 })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
    .sign(privateKey);
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
  return { env: { PORTICO_BENCH_JWK: JSON.stringify(jwk) }, header: `authorization: Bearer ${token}` };
}

export interface ForwardingBenchOptions {
  /** Runs, default 3; the tables give medians over them. */
  runs?: number;
  outDir?: string;
  /** Seconds of each measured wrk run, default 5 (each after a 1 s warmup). */
  seconds?: number;
  /**
   * Seconds of wrk before a server's first measured workload, default 3. Node 24 was seen still
   * compiling its hot functions some 30,000 requests in (bench/README.md), so runs there may
   * want 10 or more.
   */
  warmup?: number;
  /**
   * The Node binary that runs the Node servers (origin, portico, the Node references), default
   * this process's (`--node`, or PORTICO_BENCH_NODE).
   */
  node?: string;
  /** Only these workloads (ids of WORKLOADS), default all. */
  workloads?: string[];
  /** Only these contestants (ids of CONTESTANTS; origin and undici-stream are always run), default all. */
  contestants?: string[];
  /** File name of the results, without extension, default `forwarding`. */
  name?: string;
}

export async function runForwardingBench(options: ForwardingBenchOptions = {}): Promise<string> {
  const runs = options.runs ?? 3;
  const seconds = options.seconds ?? 5;
  const firstWarmup = options.warmup ?? 3;
  const node = options.node ?? process.execPath;
  const nodeVersion = execFileSync(node, ['-v'], { encoding: 'utf8' }).trim();
  const workloads = WORKLOADS.filter((w) => !options.workloads || options.workloads.includes(w.id));
  const contestants = CONTESTANTS.filter(
    (c) => c.id === 'origin' || c.id === 'undici-stream' || !options.contestants || options.contestants.includes(c.id),
  );
  const script = postScript();
  const jwt = await jwtFixture();
  /** portico's GET through the ES256 route over its GET through the plain route, per run. */
  const jwtRatios: number[] = [];
  const jwtSamples: Sample[] = [];
  const origin = await startServer(node, 'origin');
  const samples = new Map<string, Sample[]>();
  const ratios = new Map<string, number[]>();
  /** Each run's CPU a request over undici.stream's, per workload and server. */
  const cpuRatios = new Map<string, number[]>();
  const key = (w: string, c: string): string => `${w} ${c}`;
  const push = <T>(m: Map<string, T[]>, k: string, v: T): void => void (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  try {
    for (let run = 0; run < runs; run++) {
      const order = contestants.map((_, i) => contestants[(i + run) % contestants.length]!);
      const thisRun = new Map<string, Sample>();
      for (const c of order) {
        const server = c.id === 'origin' ? null : await startServer(node, c.id, origin.url, c.id === 'portico' ? jwt.env : {});
        const base = server?.url ?? origin.url;
        try {
          await checkAnswers(base, c.label);
          // The first workload of a server warms it up for longer: a Node server's first seconds
          // are spent compiling its hot functions.
          let warmup = firstWarmup;
          for (const w of workloads) {
            const lua = 'post' in w && w.post ? script : undefined;
            const header = 'header' in w ? w.header : undefined;
            const sample = await wrk(base + w.path, warmup, w.connections, lua, header)
              .then(() => measured(server, () => wrk(base + w.path, seconds, w.connections, lua, header)))
              .catch((err: unknown) => {
                throw new Error(`${c.label}, ${w.id}: ${(err as Error).message}`);
              });
            warmup = 1;
            thisRun.set(key(w.id, c.id), sample);
            push(samples, key(w.id, c.id), sample);
          }
          if (c.id === 'portico' && server && workloads.some((w) => w.id === 'get')) {
            // The same server and origin, the same GET, through the route that needs a JWT.
            const secure = `${server.url}/secure/items`;
            await wrk(secure, 1, 32, undefined, jwt.header);
            const sample = await measured(server, () => wrk(secure, seconds, 32, undefined, jwt.header));
            jwtSamples.push(sample);
            jwtRatios.push(sample.rps / thisRun.get(key('get', 'portico'))!.rps);
          }
        } finally {
          if (server) await stop(server.child);
        }
      }
      for (const w of workloads) {
        const base = thisRun.get(key(w.id, 'undici-stream'))!.rps;
        const baseCpu = thisRun.get(key(w.id, 'undici-stream'))!.cpuUs;
        for (const c of contestants) {
          push(ratios, key(w.id, c.id), thisRun.get(key(w.id, c.id))!.rps / base);
          push(cpuRatios, key(w.id, c.id), thisRun.get(key(w.id, c.id))!.cpuUs / baseCpu);
        }
      }
      process.stderr.write(`  run ${run + 1}/${runs} done\n`);
    }
  } finally {
    await stop(origin.child);
  }
  const cell = (w: string, c: string): Sample[] => samples.get(key(w, c)) ?? [];
  const table = (w: string): string[] => [
    '| server | requests/s | vs undici.stream (runs) | p50 | p99 | p99 vs undici.stream | CPU a request | CPU vs undici.stream (runs) | failed |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...contestants.map((c) => {
      const s = cell(w, c.id);
      const r = ratios.get(key(w, c.id)) ?? [];
      const p99 = median(s.map((x) => x.p99Ms));
      const refP99 = median(cell(w, 'undici-stream').map((x) => x.p99Ms));
      const cpu = median(s.map((x) => x.cpuUs));
      const cr = cpuRatios.get(key(w, c.id)) ?? [];
      const cpuCells = Number.isFinite(cpu)
        ? `${cpu.toFixed(0)} µs | ${median(cr).toFixed(2)}× (${cr.map((x) => x.toFixed(2)).join(', ')})`
        : '– | –';
      return `| ${c.label} | ${Math.round(median(s.map((x) => x.rps)))} | ${median(r).toFixed(2)}× (${r.map((x) => x.toFixed(2)).join(', ')}) | ${median(s.map((x) => x.p50Ms)).toFixed(2)} ms | ${p99.toFixed(2)} ms | ${(p99 / refP99).toFixed(2)}× | ${cpuCells} | ${s.reduce((a, x) => a + x.errors, 0)} |`;
    }),
  ];
  const lines = [
    `# Forwarding results (${nodeVersion})`,
    '',
    `${new Date().toISOString()} · Node servers on ${nodeVersion} (origin, portico, the Node references; the benchmark itself on ${process.version}) · ${runs} run(s) · wrk -t1 -d${seconds}s per workload after 1 s of warmup (${firstWarmup} s before a server's first) · load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
    '',
    "Medians over runs. \"vs undici.stream\" is each run's requests/s over the reference proxy's in the same run and workload, then the median (each run's ratio in brackets). \"CPU a request\" is the proxy process's user + system time over the window (its workers' too), from /proc, over the requests wrk made; \"CPU vs undici.stream\" is its ratio in the same way. A Node proxy under this load runs its one thread flat out, so its figure is about 1/(requests/s); for nginx and Caddy, which do not, it is what they spend. wrk, the origin and the proxy share the machine's 2 cores. portico's route sets and removes a header each way and its JSON access log is on; nginx writes a buffered access log; Caddy logs nothing and runs on every core (GOMAXPROCS), nginx on one worker, the Node servers on one thread.",
    ...workloads.flatMap((w) => ['', `## ${w.title}`, '', ...table(w.id)]),
  ];
  if (jwtSamples.length > 0) {
    const plain = cell('get', 'portico');
    lines.push(
      '',
      '## GET through a route that needs an ES256 JWT (verified-token cache on), against the plain route',
      '',
      'The same portico process, origin and GET, right after its plain GET: `/secure/items` needs a JWT from an inline ES256 key; every request sends one token, so all but the first are cache hits. The goal is at most 10% fewer requests/s than the plain route (ratio at least 0.90).',
      '',
      '| route | requests/s | vs the plain route, same run | p50 | p99 |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| portico, header transforms | ${Math.round(median(plain.map((x) => x.rps)))} | 1.00× | ${median(plain.map((x) => x.p50Ms)).toFixed(2)} ms | ${median(plain.map((x) => x.p99Ms)).toFixed(2)} ms |`,
      `| portico, ES256 JWT | ${Math.round(median(jwtSamples.map((x) => x.rps)))} | ${median(jwtRatios).toFixed(2)}× (runs: ${jwtRatios.map((r) => r.toFixed(2)).join(', ')}) | ${median(jwtSamples.map((x) => x.p50Ms)).toFixed(2)} ms | ${median(jwtSamples.map((x) => x.p99Ms)).toFixed(2)} ms |`,
    );
  }
  lines.push('');
  const md = lines.join('\n');
  if (options.outDir) {
    const name = options.name ?? 'forwarding';
    mkdirSync(options.outDir, { recursive: true });
    writeFileSync(`${options.outDir}/${name}.md`, md);
    writeFileSync(
      `${options.outDir}/${name}.json`,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          node: nodeVersion,
          runs,
          seconds,
          samples: Object.fromEntries(samples),
          ratios: Object.fromEntries(ratios),
          cpuRatios: Object.fromEntries(cpuRatios),
          jwt: { samples: jwtSamples, ratios: jwtRatios },
        },
        null,
        1,
      ) + '\n',
    );
  }
  return md;
}

/**
 * The command line: `--runs N`, `--seconds S`, `--warmup S`, `--out DIR`, `--name FILE`, `--node PATH` (or
 * PORTICO_BENCH_NODE), `--workloads get,post,...`, `--contestants portico,nginx,...`. Runs,
 * writes the results, prints the Markdown.
 */
export async function cliMain(argv: string[]): Promise<void> {
  const value = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const list = (name: string): string[] | undefined => value(name)?.split(',');
  const node = value('--node') ?? process.env['PORTICO_BENCH_NODE'];
  const md = await runForwardingBench({
    runs: value('--runs') !== undefined ? Number(value('--runs')) : 3,
    ...(value('--seconds') !== undefined ? { seconds: Number(value('--seconds')) } : {}),
    ...(value('--warmup') !== undefined ? { warmup: Number(value('--warmup')) } : {}),
    outDir: value('--out') ?? fileURLToPath(new URL('./results', import.meta.url)),
    ...(value('--name') !== undefined ? { name: value('--name') } : {}),
    ...(node ? { node } : {}),
    ...(list('--workloads') ? { workloads: list('--workloads') } : {}),
    ...(list('--contestants') ? { contestants: list('--contestants') } : {}),
  });
  process.stdout.write(md);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cliMain(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  });
}
