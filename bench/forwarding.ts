/**
 * The forwarding benchmark: requests per second through a proxy on Node, measured with `wrk`
 * (Debian: `apt-get install -y wrk`), for portico's Node target and two reference proxies in the
 * same run (see _forwarding-servers.ts): the Web-standard way (Hono + global fetch) and the
 * fastest way we know (node:http + undici.stream, no routing or header work). The origin alone
 * is the ceiling. Every server is a process of its own; wrk, the origin and the proxy share the
 * machine's cores, so only ratios within a run mean much.
 *
 * Each run: for every server in a rotated order, and for each workload (a GET of /items, then a
 * POST of 1 KiB to it), a 1 s warmup, then `wrk -t1 -c32 -d5s --latency`; requests/s and the
 * p50/p99 latency are kept. Reported, per workload: medians over runs, and each server's
 * requests/s over the undici.stream proxy's in the same run.
 *
 * @example
 * // npx tsx bench/forwarding.ts [--runs 3] [--out bench/results]   (or: portico bench forwarding)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const SERVERS = fileURLToPath(new URL('./_forwarding-servers.ts', import.meta.url));
const CONTESTANTS = [
  { id: 'origin', label: 'origin alone (no proxy)' },
  { id: 'undici-stream', label: 'node:http + undici.stream (reference fast path)' },
  { id: 'hono-fetch', label: 'Hono + fetch on @hono/node-server (Web-standard proxy)' },
  { id: 'portico', label: 'portico (Node target)' },
] as const;
type Id = (typeof CONTESTANTS)[number]['id'];

interface Sample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function startServer(
  kind: string,
  origin = '',
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', SERVERS, kind, String(port), origin], {
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

/** The two workloads: a GET, and a POST of 1 KiB (wrk sends it through a Lua script). */
const WORKLOADS = [
  { id: 'get', title: 'GET of a 1 KiB JSON body' },
  { id: 'post', title: 'POST of a 1 KiB body, answered with the same 1 KiB JSON body' },
] as const;
type WorkloadId = (typeof WORKLOADS)[number]['id'];

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

function wrk(url: string, seconds: number, script?: string, header?: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const args = [
      '-t1',
      '-c32',
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
      const errors = num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0;
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
      resolve({
        rps: num(/Requests\/sec:\s+([\d.]+)/),
        p50Ms: ms(/50%\s+([\d.]+)(us|ms|s)/),
        p99Ms: ms(/99%\s+([\d.]+)(us|ms|s)/),
        errors: errors + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
      });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

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

export async function runForwardingBench(options: { runs?: number; outDir?: string } = {}): Promise<string> {
  const runs = options.runs ?? 3;
  const script = postScript();
  const jwt = await jwtFixture();
  /** portico's GET through the ES256 route over its GET through the plain route, per run. */
  const jwtRatios: number[] = [];
  const jwtSamples: Sample[] = [];
  const origin = await startServer('origin');
  const empty = (): Record<Id, never[]> => ({ origin: [], 'undici-stream': [], 'hono-fetch': [], portico: [] });
  const samples: Record<WorkloadId, Record<Id, Sample[]>> = { get: empty(), post: empty() };
  const ratios: Record<WorkloadId, Record<Id, number[]>> = { get: empty(), post: empty() };
  try {
    for (let run = 0; run < runs; run++) {
      const order = CONTESTANTS.map((_, i) => CONTESTANTS[(i + run) % CONTESTANTS.length]!);
      const thisRun: Record<WorkloadId, Partial<Record<Id, Sample>>> = { get: {}, post: {} };
      for (const c of order) {
        const server = c.id === 'origin' ? null : await startServer(c.id, origin.url, c.id === 'portico' ? jwt.env : {});
        const url = `${server?.url ?? origin.url}/items`;
        try {
          for (const w of WORKLOADS) {
            const lua = w.id === 'post' ? script : undefined;
            await wrk(url, 1, lua);
            const sample = await wrk(url, 5, lua);
            if (sample.errors > 0) throw new Error(`${c.label} (${w.id}): ${sample.errors} failed responses or socket errors`);
            thisRun[w.id][c.id] = sample;
            samples[w.id][c.id].push(sample);
          }
          if (c.id === 'portico' && server) {
            // The same server and origin, the same GET, through the route that needs a JWT.
            const secure = `${server.url}/secure/items`;
            await wrk(secure, 1, undefined, jwt.header);
            const sample = await wrk(secure, 5, undefined, jwt.header);
            if (sample.errors > 0) throw new Error(`portico (jwt): ${sample.errors} failed responses or socket errors`);
            jwtSamples.push(sample);
            jwtRatios.push(sample.rps / thisRun.get.portico!.rps);
          }
        } finally {
          if (server) await stop(server.child);
        }
      }
      for (const w of WORKLOADS) {
        const base = thisRun[w.id]['undici-stream']!.rps;
        for (const c of CONTESTANTS) ratios[w.id][c.id].push(thisRun[w.id][c.id]!.rps / base);
      }
      process.stderr.write(`  run ${run + 1}/${runs} done\n`);
    }
  } finally {
    await stop(origin.child);
  }
  const table = (w: WorkloadId): string[] => [
    '| server | requests/s | vs undici.stream | p50 | p99 |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...CONTESTANTS.map((c) => {
      const s = samples[w][c.id];
      return `| ${c.label} | ${Math.round(median(s.map((x) => x.rps)))} | ${median(ratios[w][c.id]).toFixed(2)}× | ${median(s.map((x) => x.p50Ms)).toFixed(2)} ms | ${median(s.map((x) => x.p99Ms)).toFixed(2)} ms |`;
    }),
  ];
  const lines = [
    '# Forwarding results',
    '',
    `${new Date().toISOString()} · Node ${process.versions.node} · ${runs} run(s) · wrk -t1 -c32 -d5s per workload · load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
    '',
    'Medians over runs. "vs undici.stream" is each run\'s requests/s over the reference proxy\'s in the same run and workload, then the median. wrk, the origin and the proxy share the 2 cores.',
    ...WORKLOADS.flatMap((w) => ['', `## ${w.title}`, '', ...table(w.id)]),
    '',
    '## GET through a route that needs an ES256 JWT (verified-token cache on), against the plain route',
    '',
    'The same portico process, origin and GET, right after its plain GET: `/secure/items` needs a JWT from an inline ES256 key; every request sends one token, so all but the first are cache hits. The goal is at most 10% fewer requests/s than the plain route (ratio at least 0.90).',
    '',
    '| route | requests/s | vs the plain route, same run | p50 | p99 |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| portico, no auth | ${Math.round(median(samples.get.portico.map((x) => x.rps)))} | 1.00× | ${median(samples.get.portico.map((x) => x.p50Ms)).toFixed(2)} ms | ${median(samples.get.portico.map((x) => x.p99Ms)).toFixed(2)} ms |`,
    `| portico, ES256 JWT | ${Math.round(median(jwtSamples.map((x) => x.rps)))} | ${median(jwtRatios).toFixed(2)}× (runs: ${jwtRatios.map((r) => r.toFixed(2)).join(', ')}) | ${median(jwtSamples.map((x) => x.p50Ms)).toFixed(2)} ms | ${median(jwtSamples.map((x) => x.p99Ms)).toFixed(2)} ms |`,
    '',
  ];
  const md = lines.join('\n');
  if (options.outDir) {
    mkdirSync(options.outDir, { recursive: true });
    writeFileSync(`${options.outDir}/forwarding.md`, md);
    writeFileSync(
      `${options.outDir}/forwarding.json`,
      JSON.stringify(
        { date: new Date().toISOString(), runs, samples, ratios, jwt: { samples: jwtSamples, ratios: jwtRatios } },
        null,
        1,
      ) + '\n',
    );
  }
  return md;
}

/** The command line (`--runs N`, `--out DIR`): runs, writes the results, prints the Markdown. */
export async function cliMain(argv: string[]): Promise<void> {
  const value = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const md = await runForwardingBench({
    runs: value('--runs') !== undefined ? Number(value('--runs')) : 3,
    outDir: value('--out') ?? fileURLToPath(new URL('./results', import.meta.url)),
  });
  process.stdout.write(md);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cliMain(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  });
}
