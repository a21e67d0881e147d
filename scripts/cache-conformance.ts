/**
 * Runs the public HTTP-caching test suite (github.com/http-tests/cache-tests) through portico
 * and through the open reverse-proxy caches installed on this machine, one after the other
 * against one origin, and prints a table of passed, failed and required-failed tests per cache
 * (optionally written to a Markdown file).
 *
 *   flock -x /tmp/portico-quiet.lock node --import tsx scripts/cache-conformance.ts \
 *     --suite /path/to/cache-tests [--caches portico,squid,nginx,varnish,apache,trafficserver] \
 *     [--no-rerun] [--compare name=http://127.0.0.1:PORT ...] [--results name=file.json ...] \
 *     [--origin-port N] [--out FILE.md] [--raw DIR]
 *   node --import tsx scripts/cache-conformance.ts --suite /path/to/cache-tests --serve squid
 *     (starts the origin and one cache from the same config, prints its URL and waits, to check
 *     it by hand: PUT /config/ID a JSON list of answers, GET /test/ID, GET /state/ID)
 *
 * The suite is not part of this repository and is never copied into it: pass the path of a
 * checkout with its dependencies installed (`npm i` there; the interim-response tests import
 * undici). It cannot run in CI, which has no GitHub access. The other caches come from Debian:
 * `apt-get install -y --no-install-recommends squid nginx varnish trafficserver apache2`.
 *
 * What the run does:
 * - starts the suite's own origin server (a free port, or `--origin-port`);
 * - starts each cache on a free 127.0.0.1 port with a config written to a temp dir (below), in
 *   the foreground, as a child of this process; portico runs in this process with one catch-all
 *   `"cache": true` route;
 * - checks that the cache really caches before trusting its run: a `max-age=3600` response
 *   asked for twice must reach the origin once (the origin's `Server-Request-Count` stays 1);
 * - runs the suite's CLI through it; the suite has time-based tests (pauses of 1 to 5 s, a 10 s
 *   request timeout), so the run belongs under the exclusive quiet lock, and unless `--no-rerun`
 *   every test a cache failed is run once more, alone, and the second result kept: the report
 *   lists those that passed the second time as flaky, per cache;
 * - classifies the results by the suite's own code (its test list and result rules), loaded
 *   from the checkout, stops the cache and removes its temp dir.
 * A cache given with `--compare` must already proxy to the origin (give `--origin-port`).
 * `--results` classifies the JSON a run of the suite's CLI wrote earlier, beside the live runs.
 *
 * Each cache is configured as its documentation describes a reverse-proxy (shared) cache, with
 * no setting that weakens it and none that forces freshness the origin did not give:
 * - **squid** (5.x): `http_port … accel` with the origin as `cache_peer … originserver`, a
 *   64 MB memory cache (no cache_dir, so nothing to initialise), squid's own default
 *   `refresh_pattern` lines (no heuristic freshness for query URLs, 20 % of the age otherwise),
 *   access from loopback only.
 * - **nginx** (`proxy_cache`): a keep-alive HTTP/1.1 upstream, `proxy_cache_revalidate on` (so
 *   stale entries are revalidated with conditional requests, as the docs advise) and
 *   `proxy_cache_lock on`; no `proxy_cache_valid` (it would cache what the origin did not allow).
 * - **varnish** (7.x): the built-in VCL (`-b`, the recommended start), a 64 MB malloc store,
 *   and `default_ttl=0 default_grace=0 default_keep=3600`, the settings the suite's maintainers
 *   run varnish with: varnish's stock 120 s `default_ttl` caches responses that carry no
 *   freshness at all, which RFC 9111 does not allow; `default_keep` keeps entries for revalidation.
 * - **apache** (httpd 2.4, `mod_proxy_http` + `mod_cache` + `mod_cache_disk`): `ProxyPass /`,
 *   `CacheEnable disk /` with the disk layout of the caching guide, `CacheLock on` (the guide's
 *   thundering-herd advice), `CacheStoreExpired On` (store responses that arrive already stale,
 *   so they can be revalidated rather than fetched again; the suite's maintainers set it too),
 *   and `CacheHeader on` (an `X-Cache` header, used by the hit check by hand).
 * - **trafficserver** (9.2): Debian's stock config files copied into the temp dir and run
 *   through a runroot file (so nothing under /etc or /var is used), with the port bound to
 *   127.0.0.1, a 256 MB cache file in the temp dir and one `map` rule in remap.config to the
 *   origin; the stock records.config is kept otherwise (HTTP caching on, reverse proxy on,
 *   `required_headers 2`, i.e. no heuristic freshness, negative caching off, and a client's
 *   `max-age` ignored, `ignore_client_cc_max_age 1`, as a reverse proxy protecting its origin does).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileConfig } from '../core/config/index.ts';
import { loadNodeHot } from '../targets/node/hot.ts';
import { startNodeServer } from '../targets/node/server.ts';
import { writeNginxConf } from './nginx-conf.ts';

const HOST = '127.0.0.1';
const ALL_CACHES = ['portico', 'squid', 'nginx', 'varnish', 'apache', 'trafficserver'] as const;
type CacheName = (typeof ALL_CACHES)[number];

interface Args {
  suite: string;
  /** The suite origin's port; 0 picks a free one. */
  originPort: number;
  caches: CacheName[];
  rerun: boolean;
  compare: [string, string][];
  /** Results a run of the suite's CLI wrote earlier (name, JSON file), classified beside the live runs. */
  results: [string, string][];
  out: string | null;
  /** A directory to write each cache's results JSON to (after reruns), for `--results` later. */
  raw: string | null;
  /** Only start the origin and this cache, print its URL, and wait (to check it by hand with curl). */
  serve: CacheName | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    suite: '',
    originPort: 0,
    caches: [...ALL_CACHES],
    rerun: true,
    compare: [],
    results: [],
    out: null,
    serve: null,
    raw: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-rerun') {
      args.rerun = false;
      continue;
    }
    const value = argv[++i] ?? '';
    if (a === '--suite') args.suite = value;
    else if (a === '--origin-port') args.originPort = Number(value);
    else if (a === '--out') args.out = value;
    else if (a === '--raw') args.raw = value;
    else if (a === '--serve') {
      if (!(ALL_CACHES as readonly string[]).includes(value))
        throw new Error(`--serve: unknown cache "${value}" (${ALL_CACHES.join(', ')})`);
      args.serve = value as CacheName;
    } else if (a === '--caches') {
      const names = value.split(',').filter((n) => n !== '');
      for (const n of names) {
        if (!(ALL_CACHES as readonly string[]).includes(n))
          throw new Error(`--caches: unknown cache "${n}" (${ALL_CACHES.join(', ')})`);
      }
      args.caches = names as CacheName[];
    } else if (a === '--compare') {
      const at = value.indexOf('=');
      if (at < 1) throw new Error(`--compare takes name=url, got "${value}"`);
      args.compare.push([value.slice(0, at), value.slice(at + 1)]);
    } else if (a === '--results') {
      const at = value.indexOf('=');
      if (at < 1) throw new Error(`--results takes name=file.json, got "${value}"`);
      args.results.push([value.slice(0, at), value.slice(at + 1)]);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (args.suite === '') throw new Error('--suite /path/to/cache-tests is required (a checkout of the suite)');
  if (!Number.isInteger(args.originPort) || args.originPort < 0 || args.originPort > 65535) {
    throw new Error(`--origin-port: expected a port number, got ${args.originPort}`);
  }
  return args;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type SuiteResults = Record<string, unknown>;

/** The suite's CLI against one base URL; its JSON results. */
function runSuite(suite: string, base: string): Promise<SuiteResults> {
  return runNode(suite, [join(suite, 'test-engine/cli.mjs')], base);
}

/**
 * Some of the suite's tests, by id, against one base URL, with the suite's own runner (its CLI
 * runs one test or all of them). Results of tests these depend on stay those of the full run.
 */
function runSuiteTests(suite: string, base: string, ids: string[]): Promise<SuiteResults> {
  const runner = pathToFileURL(join(suite, 'test-engine/client/runner.mjs')).href;
  const index = pathToFileURL(join(suite, 'tests/index.mjs')).href;
  const code = `
    import { runTests, getResults } from ${JSON.stringify(runner)};
    import tests from ${JSON.stringify(index)};
    const ids = new Set(JSON.parse(process.env.PORTICO_TEST_IDS));
    const some = tests.map((s) => ({ ...s, tests: s.tests.filter((t) => ids.has(t.id)) })).filter((s) => s.tests.length > 0);
    await runTests(some, false, process.env.npm_config_base);
    console.log(JSON.stringify(getResults()));`;
  return runNode(suite, ['--input-type=module', '-e', code], base, { PORTICO_TEST_IDS: JSON.stringify(ids) });
}

function runNode(suite: string, argv: string[], base: string, env: Record<string, string> = {}): Promise<SuiteResults> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', ...argv], {
      cwd: suite,
      env: { ...process.env, ...env, npm_config_base: base, npm_config_id: '', npm_package_config_id: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`the suite exited with code ${code}`);
        resolve(JSON.parse(out) as SuiteResults);
      } catch (err) {
        reject(err);
      }
    });
  });
}

interface Tally {
  passed: number;
  failed: number;
  requiredFailed: string[];
  optionalFailed: string[];
  /** Setup, harness, retry and dependency failures, by id. */
  other: string[];
}

interface SuiteLib {
  tests: { tests: { id: string; kind?: string }[] }[];
  types: Record<string, unknown>;
  determine: (tests: unknown, id: string, results: SuiteResults) => unknown;
}

async function loadSuiteLib(suite: string): Promise<SuiteLib> {
  const tests = (await import(pathToFileURL(join(suite, 'tests/index.mjs')).href)).default as SuiteLib['tests'];
  const lib = await import(pathToFileURL(join(suite, 'test-engine/lib/results.mjs')).href);
  return { tests, types: lib.resultTypes as Record<string, unknown>, determine: lib.determineTestResult };
}

function classify(lib: SuiteLib, results: SuiteResults): Tally {
  const { types } = lib;
  const tally: Tally = { passed: 0, failed: 0, requiredFailed: [], optionalFailed: [], other: [] };
  for (const s of lib.tests) {
    for (const t of s.tests) {
      const r = lib.determine(lib.tests, t.id, results);
      if (r === types['untested'] || r === types['yes'] || r === types['no']) continue;
      if (r === types['pass']) tally.passed++;
      else {
        tally.failed++;
        if (r === types['fail']) tally.requiredFailed.push(t.id);
        else if (r === types['optional_fail']) tally.optionalFailed.push(t.id);
        else tally.other.push(t.id);
      }
    }
  }
  return tally;
}

/** A cache under test: where to send the suite, and how to stop it. */
interface Running {
  base: string;
  version: string;
  stop: () => Promise<void>;
}

/** Stops a child (SIGTERM, so nginx's master takes its workers with it; SIGKILL after 10 s). */
function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A program's version line (nginx and varnishd print it on stderr). */
function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  return out.split('\n').find((l) => l.trim() !== '' && !l.includes('using root directory')) ?? `${cmd}: no version`;
}

/** A temp dir the cache's unprivileged user can write (they drop root after binding). */
function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `portico-conformance-${name}-`));
  chmodSync(dir, 0o755);
  return dir;
}

function ownedBy(dir: string, user: string): void {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
}

/** Spawns a cache in the foreground and waits until its port answers. */
async function spawnCache(
  name: string,
  cmd: string,
  argv: string[],
  port: number,
  dir: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const log = join(dir, 'stdout.log');
  writeFileSync(log, '');
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.once('error', (err) => (output += String(err)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`http://${HOST}:${port}/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return child;
    } catch {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        await stopChild(child);
        throw new Error(`${name} did not start on port ${port} (is it installed? see the header):\n${output.slice(0, 2000)}`);
      }
      await sleep(100);
    }
  }
}

async function startPortico(originPort: number): Promise<Running> {
  const port = await freePort();
  const config = await compileConfig({
    origins: { suite: { url: `http://${HOST}:${originPort}`, region: 'local' } },
    routes: [{ match: { path: '/*' }, upstream: 'suite', cache: true }],
  });
  const server = await startNodeServer(config, { port, host: HOST, hot: await loadNodeHot('wasm'), log: () => {} });
  return {
    base: `http://${HOST}:${port}`,
    version: `portico (this checkout, Node target, wasm hot path) on Node ${process.version}`,
    stop: async () => {
      await (server as { close?: () => Promise<void> | void }).close?.();
    },
  };
}

async function startSquid(originPort: number): Promise<Running> {
  const port = await freePort();
  const dir = tempDir('squid');
  ownedBy(dir, 'proxy');
  writeFileSync(
    join(dir, 'squid.conf'),
    `http_port ${HOST}:${port} accel defaultsite=${HOST}:${originPort} no-vhost
cache_peer ${HOST} parent ${originPort} 0 no-query no-digest originserver name=origin
cache_peer_access origin allow all
acl loopback src 127.0.0.1/32
http_access allow loopback
http_access deny all
cache_mem 64 MB
maximum_object_size_in_memory 1 MB
refresh_pattern -i (/cgi-bin/|\\?) 0 0% 0
refresh_pattern . 0 20% 4320
pid_filename ${dir}/squid.pid
cache_log ${dir}/cache.log
access_log none
cache_store_log none
coredump_dir ${dir}
netdb_filename none
shutdown_lifetime 1 second
visible_hostname portico-conformance
`,
  );
  const child = await spawnCache('squid', 'squid', ['-N', '-n', `pc${port}`, '-f', join(dir, 'squid.conf')], port, dir);
  return {
    base: `http://${HOST}:${port}`,
    version: version('squid', ['-v']),
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startNginx(originPort: number): Promise<Running> {
  const port = await freePort();
  const dir = tempDir('nginx');
  const args = writeNginxConf(dir, {
    listen: `${HOST}:${port}`,
    upstream: `${HOST}:${originPort}`,
    keepalive: 16,
    workerConnections: 1024,
    cacheZone: 'conformance',
    location: ['proxy_cache conformance;', 'proxy_cache_revalidate on;', 'proxy_cache_lock on;'],
  });
  const child = await spawnCache('nginx', 'nginx', args, port, dir);
  return {
    base: `http://${HOST}:${port}`,
    version: version('nginx', ['-v']),
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startVarnish(originPort: number): Promise<Running> {
  const port = await freePort();
  const dir = tempDir('varnish');
  const argv = [
    '-F',
    '-n',
    join(dir, 'work'),
    '-a',
    `${HOST}:${port}`,
    '-b',
    `${HOST}:${originPort}`,
    '-s',
    'malloc,64m',
    '-p',
    'default_ttl=0',
    '-p',
    'default_grace=0',
    '-p',
    'default_keep=3600',
  ];
  const child = await spawnCache('varnish', 'varnishd', argv, port, dir);
  return {
    base: `http://${HOST}:${port}`,
    version: version('varnishd', ['-V']),
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startApache(originPort: number): Promise<Running> {
  const port = await freePort();
  const dir = tempDir('apache');
  for (const d of ['cache', 'lock', 'run']) mkdirSync(join(dir, d));
  // The children run as www-data and write the cache and its locks.
  ownedBy(join(dir, 'cache'), 'www-data');
  ownedBy(join(dir, 'lock'), 'www-data');
  const modules = ['mpm_event', 'authz_core', 'proxy', 'proxy_http', 'cache', 'cache_disk'];
  writeFileSync(
    join(dir, 'httpd.conf'),
    `ServerRoot ${dir}
ServerName ${HOST}
Listen ${HOST}:${port}
PidFile ${dir}/run/httpd.pid
DefaultRuntimeDir ${dir}/run
ErrorLog ${dir}/error.log
LogLevel warn
User www-data
Group www-data
${modules.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`).join('\n')}
ProxyRequests Off
ProxyPass / http://${HOST}:${originPort}/
ProxyPassReverse / http://${HOST}:${originPort}/
CacheEnable disk /
CacheRoot ${dir}/cache
CacheDirLevels 2
CacheDirLength 1
CacheLock on
CacheLockPath ${dir}/lock
CacheStoreExpired On
CacheHeader on
`,
  );
  const child = await spawnCache('apache', 'apache2', ['-f', join(dir, 'httpd.conf'), '-D', 'FOREGROUND'], port, dir);
  return {
    base: `http://${HOST}:${port}`,
    version: version('apache2', ['-v']),
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startTrafficServer(originPort: number): Promise<Running> {
  const port = await freePort();
  const dir = tempDir('trafficserver');
  const etc = join(dir, 'etc');
  cpSync('/etc/trafficserver', etc, { recursive: true });
  for (const d of ['var', 'run', 'log', 'cache']) mkdirSync(join(dir, d));
  // A runroot points every directory traffic_server uses into the temp dir; binaries and
  // plugins stay Debian's.
  writeFileSync(
    join(dir, 'runroot.yaml'),
    `prefix: ${dir}
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: ${etc}
datadir: /usr/share/trafficserver
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: ${dir}/var
runtimedir: ${dir}/run
logdir: ${dir}/log
cachedir: ${dir}/cache
`,
  );
  writeFileSync(join(etc, 'storage.config'), `${dir}/cache 256M\n`);
  writeFileSync(join(etc, 'remap.config'), `map http://${HOST}:${port}/ http://${HOST}:${originPort}/\n`);
  const records = readFileSync(join(etc, 'records.config'), 'utf8');
  const portLine = /^CONFIG proxy\.config\.http\.server_ports .*$/m;
  if (!portLine.test(records))
    throw new Error('trafficserver: no proxy.config.http.server_ports line in the stock records.config');
  writeFileSync(
    join(etc, 'records.config'),
    records.replace(portLine, `CONFIG proxy.config.http.server_ports STRING ${port}:ip-in=${HOST}`),
  );
  // traffic_server drops to the `trafficserver` user (proxy.config.admin.user_id) after binding.
  execFileSync('chown', ['-R', 'trafficserver:trafficserver', dir]);
  const child = await spawnCache('trafficserver', 'traffic_server', [], port, dir, { TS_RUNROOT: join(dir, 'runroot.yaml') });
  return {
    base: `http://${HOST}:${port}`,
    version: version('traffic_server', ['-V']),
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const STARTERS: Record<CacheName, (originPort: number) => Promise<Running>> = {
  portico: startPortico,
  squid: startSquid,
  nginx: startNginx,
  varnish: startVarnish,
  apache: startApache,
  trafficserver: startTrafficServer,
};

/**
 * Checks that a cache really stores: with the suite's origin protocol (PUT a config, then GET
 * it), a `max-age=3600` response asked for twice must reach the origin once.
 */
async function checkHit(name: string, base: string): Promise<void> {
  const id = `hit-check-${randomUUID()}`;
  const answer = {
    response_headers: [
      ['Cache-Control', 'max-age=3600'],
      ['Date', 0],
    ],
  };
  const put = await fetch(`${base}/config/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([answer, answer]),
  });
  await put.arrayBuffer();
  if (put.status !== 201) throw new Error(`${name}: the hit check's config was answered ${put.status}`);
  const counts: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${base}/test/${id}`);
    await res.arrayBuffer();
    counts.push(res.headers.get('server-request-count') ?? '?');
  }
  if (counts[1] !== '1') {
    throw new Error(`${name} does not cache: a max-age=3600 response asked for twice reached the origin ${counts[1]} times`);
  }
}

interface Row {
  name: string;
  version: string;
  tally: Tally;
  /** Tests that failed in the full run and passed when run again alone. */
  flaky: string[];
  /** How many failed tests were run again. */
  rerun: number;
}

async function runOne(lib: SuiteLib, args: Args, name: string, base: string, version: string): Promise<Row> {
  process.stderr.write(`running the suite through ${name} (${base})…\n`);
  const started = Date.now();
  const results = await runSuite(args.suite, base);
  const first = classify(lib, results);
  const failed = [...first.requiredFailed, ...first.optionalFailed, ...first.other];
  if (args.rerun && failed.length > 0) {
    process.stderr.write(`  ${failed.length} failed; running them once more…\n`);
    const again = await runSuiteTests(args.suite, base, failed);
    for (const id of failed) if (again[id] === true) results[id] = true;
  }
  const tally = classify(lib, results);
  // A test passed alone counts only where the suite's rules then call it passed: one whose
  // dependency still fails stays a dependency failure.
  const still = new Set([...tally.requiredFailed, ...tally.optionalFailed, ...tally.other]);
  const flaky = failed.filter((id) => !still.has(id));
  if (args.raw) writeFileSync(join(args.raw, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(
    `  ${name}: ${tally.passed} passed, ${tally.failed} failed (${Math.round((Date.now() - started) / 1000)} s)\n`,
  );
  return { name, version, tally, flaky, rerun: args.rerun ? failed.length : 0 };
}

function machineState(): string {
  const [one, five] = loadavg();
  return `${cpus().length} cores, load average ${one?.toFixed(2)} (1 min) / ${five?.toFixed(2)} (5 min)`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const lib = await loadSuiteLib(args.suite);
  const originPort = args.originPort || (await freePort());
  const pidfile = join(tmpdir(), `portico-conformance-origin-${originPort}.pid`);
  const origin = spawn(process.execPath, [join(args.suite, 'test-engine/server/server.mjs')], {
    cwd: args.suite,
    env: {
      ...process.env,
      npm_config_protocol: 'http',
      npm_config_port: String(originPort),
      npm_config_pidfile: pidfile,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    origin.stdout.setEncoding('utf8').on('data', (c: string) => c.includes('Listening') && resolve());
    origin.once('exit', (code) => reject(new Error(`the suite's server exited with code ${code}`)));
  });
  if (args.serve) {
    const cache = await STARTERS[args.serve](originPort);
    process.stdout.write(
      `${args.serve} at ${cache.base}, the suite's origin at http://${HOST}:${originPort}; Ctrl-C stops both\n`,
    );
    const quit = async () => {
      await cache.stop();
      origin.kill();
      rmSync(pidfile, { force: true });
      process.exit(0);
    };
    process.once('SIGINT', quit);
    process.once('SIGTERM', quit);
    return;
  }
  const startedAt = new Date();
  const stateBefore = machineState();
  const rows: Row[] = [];
  try {
    for (const name of args.caches) {
      const cache = await STARTERS[name](originPort);
      try {
        await checkHit(name, cache.base);
        rows.push(await runOne(lib, args, name, cache.base, cache.version));
      } finally {
        await cache.stop();
      }
    }
    for (const [name, base] of args.compare) {
      await checkHit(name, base);
      rows.push(await runOne(lib, args, name, base, `given with --compare (${base})`));
    }
    for (const [name, file] of args.results) {
      const tally = classify(lib, JSON.parse(readFileSync(file, 'utf8')) as SuiteResults);
      rows.push({ name, version: `results file ${file}`, tally, flaky: [], rerun: 0 });
    }
  } finally {
    origin.kill();
    rmSync(pidfile, { force: true });
  }
  const suiteVersion = (JSON.parse(readFileSync(join(args.suite, 'package.json'), 'utf8')) as { version?: string }).version;
  const lines = [
    '# HTTP-caching conformance (public cache test suite, run through each cache as a reverse proxy)',
    '',
    'Written by `scripts/cache-conformance.ts`; its header says how each cache is configured and why. ' +
      'Not run in CI (the suite comes from GitHub). "failed" counts every test not passed: required and ' +
      'optional failures, and tests whose setup, harness or dependency failed (those say nothing either way).',
    '',
    `Run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, suite http-cache-tests ${suiteVersion ?? '?'}, ` +
      `${args.rerun ? 'failures run once more alone' : 'no reruns'}. Machine before: ${stateBefore}; after: ${machineState()}.`,
    '',
    '| cache | passed | failed | required failed | optional (optimal) failed | setup, harness or dependency | flaky (passed when run again) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      ({ name, tally: t, flaky }) =>
        `| ${name} | ${t.passed} | ${t.failed} | ${t.requiredFailed.length} | ${t.optionalFailed.length} | ${t.other.length} | ${flaky.length} |`,
    ),
    '',
    '### Versions',
    '',
    ...rows.map(({ name, version }) => `- ${name}: ${version}`),
    '',
    '### Required failures',
    '',
    ...rows.map(({ name, tally }) => `- ${name}: ${tally.requiredFailed.join(', ') || 'none'}`),
    '',
    '### Optional (optimal) failures',
    '',
    ...rows.map(({ name, tally }) => `- ${name}: ${tally.optionalFailed.join(', ') || 'none'}`),
    '',
    '### Setup, harness or dependency failures',
    '',
    ...rows.map(({ name, tally }) => `- ${name}: ${tally.other.join(', ') || 'none'}`),
    '',
    '### Flaky: failed in the full run, passed when run again alone',
    '',
    ...rows.map(({ name, flaky, rerun }) => `- ${name} (${rerun} run again): ${flaky.join(', ') || 'none'}`),
  ];
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);
  if (args.out) writeFileSync(args.out, text);
  process.exit(0);
}

await main();
