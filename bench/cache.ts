/**
 * The cache benchmark (`portico bench cache`), in one run, on 127.0.0.1:
 * - **hits**: requests/s of cache hits through portico's Node target (`cache: { ttl }` route),
 *   against plain forwarding through the same portico (no cache) and against nginx
 *   `proxy_cache` serving hits (nginx from Debian, started here with a config in a temp dir);
 * - **misses**: every request a new key (wrk's Lua makes the path), against plain forwarding, and
 *   against plain forwarding driven by the same Lua (a new path each: like for like);
 * - **stampede**: 1,000 concurrent clients on one cold key; the origin counts its requests
 *   (exactly 1 is the goal).
 * The origin is a node:http server in this process that answers a 1 KiB JSON body (no
 * Cache-Control: the route's forced TTL makes it cacheable, and nginx's `proxy_cache_valid`),
 * counting requests per path. Inputs are checked before timing: a hit must say
 * `Cache-Status: portico; hit`, nginx's `X-Cache-Status: HIT`.
 * Run: `portico bench cache [--seconds S] [--runs N] [--node PATH]`; writes bench/results/cache.md.
 * `portico bench cache --instructions [...]` counts instead (countCacheInstructions, below).
 * With `--runs N` every workload is measured N times, round-robin, each run starting one workload
 * further on (so that a burst of other work on the machine, or coming right after another
 * workload, falls on all of them alike), and the medians are reported; `--node PATH` runs
 * the portico server on that Node binary (e.g. Node 24) while the rest stays on this one.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest, createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileConfig } from '../core/config/index.ts';
import { loadNodeHot } from '../targets/node/hot.ts';
import { startNodeServer } from '../targets/node/server.ts';
import { writeNginxConf } from '../scripts/nginx-conf.ts';
import { callgrindWrapper, dumpCounts, dumpTotals, slowLiteralNote, slowLiteralShares, zeroCounts } from './_callgrind.ts';
import { TS_LOADER } from './_loader.ts';
import { freePort } from './_ports.ts';

const HOST = '127.0.0.1';
const SELF = fileURLToPath(import.meta.url);

/** The portico server of the benchmark, in a child process: `/cached/*` cached, `/plain/*` not. */
async function serve(port: number, origin: string): Promise<void> {
  const config = await compileConfig({
    origins: { o: { url: origin, region: 'local' } },
    routes: [
      { match: { path: '/cached/*' }, upstream: 'o', cache: { ttl: 3600 } },
      { match: { path: '/miss/*' }, upstream: 'o', cache: { ttl: 3600 } },
      { match: { path: '/cold/*' }, upstream: 'o', cache: { ttl: 3600 } },
      { match: { path: '/plain/*' }, upstream: 'o' },
    ],
  });
  await startNodeServer(config, { port, host: HOST, hot: await loadNodeHot('wasm'), log: () => {} });
  // A clean exit on SIGINT, so that `node --cpu-prof` writes its profile of the server.
  process.once('SIGINT', () => process.exit(0));
  process.stdout.write(`ready ${port} ${process.versions.node}\n`);
}

async function startPortico(
  origin: string,
  node: string,
  wrapper: string[] = [],
): Promise<{ url: string; child: ChildProcess; version: string }> {
  const port = await freePort();
  const [cmd, ...args] = [...wrapper, node, '--import', TS_LOADER, SELF, '--serve', String(port), origin];
  const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const version = await new Promise<string>((resolve, reject) => {
    // Under valgrind, loading and compiling the gateway takes minutes.
    const limit = wrapper.length > 0 ? 600 : 20;
    const timer = setTimeout(() => reject(new Error(`portico did not start within ${limit} s`)), limit * 1000);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      const m = new RegExp(`ready ${port} (\\S+)`).exec(c);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`portico exited with code ${code}`)));
  });
  return { url: `http://${HOST}:${port}`, child, version };
}

async function startNginx(origin: string): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portico-nginx-'));
  const args = writeNginxConf(dir, {
    listen: `${HOST}:${port}`,
    upstream: new URL(origin).host,
    keepalive: 32,
    workerConnections: 2048,
    cacheZone: 'bench',
    location: [
      'proxy_cache bench;',
      'proxy_cache_valid 200 1h;',
      'proxy_cache_lock on;',
      'add_header X-Cache-Status $upstream_cache_status;',
    ],
  });
  const child = spawn('nginx', args, { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await get(`http://${HOST}:${port}/warm`);
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('nginx did not start (apt-get install -y nginx)');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url: `http://${HOST}:${port}`, child, dir };
}

/** Stops a child; nginx gets SIGTERM, so that its master stops its workers (SIGKILL would leave them running). */
function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

function get(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

interface Sample {
  rps: number;
  /** Responses wrk counted. */
  requests: number;
  p99Ms: number;
  errors: number;
}

function wrk(url: string, seconds: number, script?: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const args = ['-t1', '-c32', `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url];
    execFile('wrk', args, (error, stdout) => {
      if (error) return reject(new Error(`wrk failed (apt-get install -y wrk): ${error.message}`));
      const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
      const m = /99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
      const p99 = m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : Number.NaN;
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
      resolve({
        rps: num(/Requests\/sec:\s+([\d.]+)/),
        requests: num(/(\d+) requests in/),
        p99Ms: p99,
        errors:
          (num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0) + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
      });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export interface CacheBenchOptions {
  /** Seconds per measured workload, default 5. */
  seconds?: number;
  /** Measurements per workload (medians reported), default 1. */
  runs?: number;
  /** Node binary of the portico server, default this process's. */
  node?: string;
  outDir?: string;
}

export async function runCacheBench(options: CacheBenchOptions = {}): Promise<string> {
  const seconds = options.seconds ?? 5;
  const runs = Math.max(1, Math.floor(options.runs ?? 1));
  const counts = new Map<string, number>();
  // Requests the origin got on the cached misses' route (their paths are all new: not kept per path).
  let missesAtOrigin = 0;
  const body = JSON.stringify({ items: Array.from({ length: 16 }, (_, i) => ({ id: i, name: `item-${i}` })) }).padEnd(1024, ' ');
  const origin = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/miss/')) missesAtOrigin++;
    else if (!path.startsWith('/plain/')) counts.set(path, (counts.get(path) ?? 0) + 1);
    req.resume();
    // A cold key answers after 200 ms, so that the stampede's requests all arrive while it is in flight.
    setTimeout(
      () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      path.startsWith('/cold/') ? 200 : 0,
    );
  });
  origin.keepAliveTimeout = 5000;
  await new Promise<void>((r) => origin.listen(0, HOST, r));
  const originUrl = `http://${HOST}:${(origin.address() as { port: number }).port}`;
  const portico = await startPortico(originUrl, options.node ?? process.execPath);
  const nginx = await startNginx(originUrl);
  const dir = mkdtempSync(join(tmpdir(), 'portico-wrk-'));
  // A new path for every request, on the cached route (misses) and on the plain one (their
  // like-for-like baseline: wrk's Lua request function costs the client CPU on these shared
  // cores, and the origin sees a new path each time, as for the misses). Each wrk call gets a
  // script of its own with a prefix no earlier call used: LuaJIT's math.random starts from the
  // same seed in every wrk process, so a counter or random suffix alone repeats the previous
  // call's paths, and a "miss" would be a hit on what that call stored.
  let scripts = 0;
  const newPaths = (route: 'miss' | 'plain'): string => {
    const file = join(dir, `${route}-${++scripts}.lua`);
    writeFileSync(
      file,
      `local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("GET", "/${route}/${scripts}-${Date.now()}-" .. n)\nend\n`,
    );
    return file;
  };
  try {
    // Inputs checked before timing.
    await get(`${portico.url}/cached/item`);
    const hit = await get(`${portico.url}/cached/item`);
    if (!String(hit.headers['cache-status']).startsWith('portico; hit'))
      throw new Error(`portico did not hit: ${hit.headers['cache-status']}`);
    await get(`${nginx.url}/cached/item`);
    const nhit = await get(`${nginx.url}/cached/item`);
    if (nhit.headers['x-cache-status'] !== 'HIT') throw new Error(`nginx did not hit: ${nhit.headers['x-cache-status']}`);
    if ((await get(`${portico.url}/plain/item`)).body !== body) throw new Error('plain forwarding gave another body');

    const workloads = [
      ['portico, plain forwarding', `${portico.url}/plain/item`, undefined],
      ['portico, cache hits', `${portico.url}/cached/item`, undefined],
      ['nginx proxy_cache, hits', `${nginx.url}/cached/item`, undefined],
      ['portico, cache misses (new key each)', `${portico.url}/`, 'miss'],
      ['portico, plain forwarding (new path each)', `${portico.url}/`, 'plain'],
    ] as const;
    const samples = new Map<string, Sample[]>(workloads.map(([name]) => [name, []]));
    for (let run = 0; run < runs; run++) {
      // Each run starts one workload further on: no workload always comes first (the first
      // one measured came out systematically low: it follows the previous run's misses).
      const order = workloads.map((_, i) => workloads[(i + run) % workloads.length] as (typeof workloads)[number]);
      for (const [name, url, paths] of order) {
        await wrk(url, 1, paths && newPaths(paths));
        const before = missesAtOrigin;
        const sample = await wrk(url, seconds, paths && newPaths(paths));
        // Every miss reached the origin: none was answered from the cache.
        const reached = missesAtOrigin - before;
        if (paths === 'miss' && reached < sample.requests)
          throw new Error(`only ${reached} of ${sample.requests} misses reached the origin`);
        samples.get(name)?.push(sample);
      }
    }
    const rows: [string, Sample][] = workloads.map(([name]) => {
      const got = samples.get(name) ?? [];
      return [
        name,
        {
          rps: median(got.map((s) => s.rps)),
          requests: got.reduce((a, s) => a + s.requests, 0),
          p99Ms: median(got.map((s) => s.p99Ms)),
          errors: got.reduce((a, s) => a + s.errors, 0),
        },
      ];
    });
    // Each run's ratios, to show the noise beside the medians.
    const perRun = Array.from({ length: runs }, (_, i) => {
      const at = (name: string) => samples.get(name)?.[i]?.rps ?? Number.NaN;
      const plainRun = at('portico, plain forwarding');
      return `hits ${(at('portico, cache hits') / plainRun).toFixed(2)}×, misses ${(at('portico, cache misses (new key each)') / plainRun).toFixed(2)}× (${(at('portico, cache misses (new key each)') / at('portico, plain forwarding (new path each)')).toFixed(2)}× like for like)`;
    });

    // Stampede: 1,000 clients at once on a cold key, each on its own connection.
    const cold = `/cold/key-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 1000 }, () => get(`${portico.url}${cold}`).catch(() => null)));
    const ok = answers.filter((a) => a?.status === 200 && a.body === body).length;
    const originRequests = counts.get(cold) ?? 0;

    const rps = (name: string) => rows.find(([n]) => n === name)?.[1].rps ?? Number.NaN;
    const plain = rps('portico, plain forwarding');
    const md = [
      '# Cache benchmark',
      '',
      `${new Date().toISOString()} · portico on Node ${portico.version} · ${runs === 1 ? 'one run' : `medians of ${runs} runs`} · wrk -t1 -c32 -d${seconds}s per workload · load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
      '',
      'wrk, the origin, portico and nginx share the machine (2 cores, other work running): ratios from the same run matter, absolute numbers less.',
      '',
      '| workload | req/s | vs portico plain forwarding | p99 ms | errors |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows.map(
        ([name, s]) =>
          `| ${name} | ${Math.round(s.rps)} | ${(s.rps / plain).toFixed(2)}× | ${s.p99Ms.toFixed(1)} | ${s.errors} |`,
      ),
      '',
      `Hits vs nginx proxy_cache hits: ${(rps('portico, cache hits') / rps('nginx proxy_cache, hits')).toFixed(2)}×. Goals: hits ≥ 1.5× plain forwarding (${(rps('portico, cache hits') / plain).toFixed(2)}×), misses ≥ 0.9× (${(rps('portico, cache misses (new key each)') / plain).toFixed(2)}×; against plain forwarding with the same new-path-each script ${(rps('portico, cache misses (new key each)') / rps('portico, plain forwarding (new path each)')).toFixed(2)}×).`,
      '',
      ...(runs > 1 ? [`Per run (vs that run's plain forwarding): ${perRun.join('; ')}.`, ''] : []),
      `Misses: every one reached the origin (${rows.find(([n]) => n === 'portico, cache misses (new key each)')?.[1].requests} over all runs, checked per run; each wrk call has paths of its own).`,
      '',
      `Stampede: 1,000 concurrent clients on one cold key → **${originRequests} origin request(s)** (goal: exactly 1); ${ok} of 1,000 clients got the full body.`,
      '',
    ].join('\n');
    const out = options.outDir ?? fileURLToPath(new URL('./results', import.meta.url));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'cache.md'), md);
    return md;
  } finally {
    await stop(portico.child);
    await stop(nginx.child, 'SIGTERM');
    origin.closeAllConnections();
    origin.close();
  }
}

/**
 * `--instructions`: what a miss costs beyond plain forwarding, counted instead of timed. Each
 * workload gets a portico server of its own under callgrind (bench/_callgrind.ts), all at once:
 * plain forwarding (one path, and a new path each), misses (a new key each, every one checked to
 * reach the origin) and hits. A process of its own, because what a workload costs includes the
 * garbage collections it causes, and in a shared process those land in whichever workload runs
 * when they come (the stored entries of the misses made the plain blocks after them dearer). A
 * client in this process sends each server `--warmup` requests (8,000: the JIT is still busy at
 * 2,000), then `blocks` blocks of keep-alive GETs, 8 at a time; the counts are zeroed before and
 * dumped after each block, and the medians over blocks are reported. `--keep DIR` keeps the
 * dumps (DIR/<workload>/out.<pid>.<n>) for `callgrind_annotate`; `--only plain-new,miss` runs
 * only those workloads (of plain, plain-new, miss, hit). `--cache-sim` has callgrind simulate the caches too and reports estimated cycles
 * (dumpTotals' `cycles`) instead of instructions: what a miss's lookups in large Maps and its
 * stored entries cost in memory traffic, which instructions alone do not show.
 */
export async function countCacheInstructions(
  options: {
    node?: string;
    blocks?: number;
    requests?: number;
    warmup?: number;
    keep?: string;
    only?: string[];
    cacheSim?: boolean;
  } = {},
): Promise<string> {
  const measured = options.cacheSim ? 'cycles' : 'instructions';
  const blocks = options.blocks ?? 3;
  const requests = options.requests ?? 2000;
  const warmup = options.warmup ?? 8000;
  const ids = ['plain', 'plain-new', 'miss', 'hit'];
  if (options.only !== undefined && (options.only.length === 0 || options.only.some((id) => !ids.includes(id))))
    throw new Error(`--only takes some of ${ids.join(',')} (got ${options.only.join(',')})`);
  let missesAtOrigin = 0;
  const body = JSON.stringify({ items: Array.from({ length: 16 }, (_, i) => ({ id: i, name: `item-${i}` })) }).padEnd(1024, ' ');
  const origin = createServer((req, res) => {
    if ((req.url ?? '').startsWith('/miss/')) missesAtOrigin++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  // Longer than the gateway keeps an idle origin socket (10 s): under callgrind a socket can sit
  // idle for seconds, and one the origin closed first would be a 502 when the gateway reuses it.
  origin.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => origin.listen(0, HOST, r));
  const originUrl = `http://${HOST}:${(origin.address() as { port: number }).port}`;
  const workloads = (
    [
      ['plain', 'plain forwarding', () => '/plain/item', /^$/],
      ['plain-new', 'plain forwarding, a new path each', (t, k) => `/plain/${t}-${k}`, /^$/],
      ['miss', 'cache misses, a new key each', (t, k) => `/miss/${t}-${k}`, /fwd=uri-miss;.*\bstored\b/],
      ['hit', 'cache hits', () => '/cached/item', /; hit/],
    ] as [id: string, name: string, path: (tag: number, k: number) => string, status: RegExp][]
  ).filter(([id]) => options.only === undefined || options.only.includes(id));

  const root = options.keep ?? mkdtempSync(join(tmpdir(), 'portico-callgrind-'));
  let version = '';
  /** One workload's server, from its start to its stop: the instructions of each block, a request. */
  const measure = async ([id, , path, status]: (typeof workloads)[number]): Promise<{ perRequest: number[]; slow: number[] }> => {
    const dir = join(root, id);
    mkdirSync(dir, { recursive: true });
    const portico = await startPortico(
      originUrl,
      options.node ?? process.execPath,
      callgrindWrapper(dir, { cacheSim: options.cacheSim === true }),
    );
    version = portico.version;
    portico.child.stdout?.resume();
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    let tag = 0;
    /** `n` GETs, 8 at a time; each must be a 200 with the origin's body and a matching Cache-Status. */
    const send = async (n: number): Promise<void> => {
      const t = ++tag;
      let next = 0;
      const one = (k: number) =>
        new Promise<void>((resolve, reject) => {
          const r = httpRequest(`${portico.url}${path(t, k)}`, { agent }, (res) => {
            let got = '';
            res.setEncoding('utf8').on('data', (c: string) => (got += c));
            res.on('end', () => {
              const cs = String(res.headers['cache-status'] ?? '');
              // The hits' first request stores the entry the others hit.
              const expected = id === 'hit' && t === 1 && k === 0 ? /fwd=uri-miss/ : status;
              if (res.statusCode !== 200 || got !== body || !expected.test(cs))
                reject(new Error(`${path(t, k)}: ${res.statusCode}, Cache-Status "${cs}"`));
              else resolve();
            });
          });
          r.on('error', reject);
          r.end();
        });
      if (id === 'hit' && t === 1) await one(next++);
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < n) await one(next++);
        }),
      );
    };
    try {
      const pid = portico.child.pid as number;
      await send(warmup);
      const perRequest: number[] = [];
      for (let b = 0; b < blocks; b++) {
        const before = missesAtOrigin;
        await zeroCounts(pid);
        await send(requests);
        await dumpCounts(pid);
        // Only the misses' server sends /miss/ paths: all of them reached the origin.
        if (id === 'miss' && missesAtOrigin - before !== requests)
          throw new Error(`${missesAtOrigin - before} of ${requests} misses reached the origin`);
        const totals = dumpTotals(dir, measured);
        perRequest.push((totals[totals.length - 1] as number) / requests);
      }
      return { perRequest, slow: slowLiteralShares(dir) };
    } finally {
      agent.destroy();
      await stop(portico.child, 'SIGINT');
    }
  };
  try {
    const results = await Promise.all(workloads.map(measure));
    const perBlock = new Map(workloads.map(([id], i) => [id, results[i]?.perRequest ?? []]));
    const slowNotes = workloads.map(([id], i) => slowLiteralNote(id, results[i]?.slow ?? [])).join('');
    const cost = (id: string) => median(perBlock.get(id) ?? []);
    /** The ratio to a workload that ran, or a dash. */
    const vs = (id: string, base: string) => (perBlock.has(base) ? `${(cost(id) / cost(base)).toFixed(3)}×` : '—');
    const what = options.cacheSim
      ? 'Estimated cycles a request of the portico server (user space, all threads, callgrind with its cache simulation: instructions + 10 a first-level miss + 100 a last-level miss)'
      : 'Instructions a request of the portico server (user space, all threads, callgrind)';
    return [
      `${what}, Node ${version}: a server per workload, ${blocks} blocks of ${requests} keep-alive GETs each (8 at a time) after ${warmup} of warm-up, medians over blocks; for a server bound by its CPU a rate ratio is about the inverse of the ${measured} ratio (the kernel's share, the same for all, is not counted).`,
      '',
      `| workload | ${measured} a request | vs plain forwarding | vs plain, a new path each | per block |`,
      '| --- | ---: | ---: | ---: | --- |',
      ...workloads.map(
        ([id, name]) =>
          `| ${name} | ${(cost(id) / 1000).toFixed(1)} k | ${vs(id, 'plain')} | ${vs(id, 'plain-new')} | ${(perBlock.get(id) ?? []).map((x) => (x / 1000).toFixed(1)).join(', ')} |`,
      ),
      '',
      ...(slowNotes ? [slowNotes] : []),
    ].join('\n');
  } finally {
    if (options.keep === undefined) rmSync(root, { recursive: true, force: true });
    origin.closeAllConnections();
    origin.close();
  }
}

export async function cliMain(argv: string[]): Promise<void> {
  const value = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  if (argv.includes('--instructions')) {
    const md = await countCacheInstructions({
      ...(value('--node') ? { node: value('--node') as string } : {}),
      ...(value('--blocks') ? { blocks: Number(value('--blocks')) } : {}),
      ...(value('--requests') ? { requests: Number(value('--requests')) } : {}),
      ...(value('--keep') ? { keep: value('--keep') as string } : {}),
      ...(value('--only') ? { only: (value('--only') as string).split(',') } : {}),
      ...(value('--warmup') ? { warmup: Number(value('--warmup')) } : {}),
      cacheSim: argv.includes('--cache-sim'),
    });
    process.stdout.write(md);
    return;
  }
  const md = await runCacheBench({
    seconds: value('--seconds') !== undefined ? Number(value('--seconds')) : 5,
    runs: value('--runs') !== undefined ? Number(value('--runs')) : 1,
    ...(value('--node') ? { node: value('--node') as string } : {}),
    ...(value('--out') ? { outDir: value('--out') as string } : {}),
  });
  process.stdout.write(md);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const run = args[0] === '--serve' ? serve(Number(args[1]), args[2] ?? '') : cliMain(args);
  run.catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  });
}
