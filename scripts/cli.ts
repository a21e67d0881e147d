/**
 * `portico`: dev, validate, explain, build, deploy, bench.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cac } from 'cac';
import { compileConfig, type CompiledConfig, type CompiledRoute } from '../core/config/index.ts';
import { policyDefinition } from '../core/pipeline/compose.ts';
import { PHASES } from '../core/pipeline/policy.ts';
import { ConfigError } from '../core/errors.ts';
import { normalizePath } from '../core/http/normalize.ts';
import { createRouteMatcher, findPreflightRoute } from '../core/router/index.ts';
import { Upstreams } from '../core/upstream/upstreams.ts';
import { findConfigFile, loadConfigFile } from './config-file.ts';
import { DEMO_API_KEY, demoConfig, demoGeoDatabase } from './demo/demo-config.ts';
import { DEMO_SCOPE, startDemoIdp, type DemoIdp } from './demo/demo-jwt.ts';
import { startEchoOrigin, type EchoOrigin } from './demo/echo-origin.ts';
import { loadNodeHot, type HotKind } from '../targets/node/hot.ts';
import { startNodeServer } from '../targets/node/server.ts';

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

/** Loads and compiles a config; prints every error and returns null when it is invalid. */
async function loadCompiled(file: string): Promise<CompiledConfig | null> {
  try {
    const compiled = await compileConfig(await loadConfigFile(file), file);
    for (const w of compiled.warnings) err(`warning: ${file}: ${w.path ? `${w.path}: ` : ''}${w.message}`);
    return compiled;
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return null;
    }
    throw e;
  }
}

/** Placeholder origins for commands that never contact them (explain on the demo). */
const DEMO_PLACEHOLDERS = {
  euWest: 'http://127.0.0.1:9001',
  usEast: 'http://127.0.0.1:9002',
  apSouth: 'http://127.0.0.1:9003',
  idp: 'http://127.0.0.1:9004',
};

async function runDev(options: { config?: string; port?: string | number; host?: string; hot?: string }): Promise<number> {
  const hotKind = (options.hot ?? 'wasm') as HotKind;
  if (!['wasm', 'wasm2js', 'twin'].includes(hotKind)) {
    err(`--hot: expected wasm, wasm2js or twin, got "${options.hot}"`);
    return 2;
  }
  const port = options.port === undefined ? 8787 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    err(`--port: expected a port number 0-65535, got "${options.port}"`);
    return 2;
  }
  const origins: EchoOrigin[] = [];
  let idp: DemoIdp | undefined;
  let demoMmdb: string | undefined;
  let compiled: CompiledConfig | null;
  if (options.config) {
    compiled = await loadCompiled(options.config);
    if (!compiled) return 1;
  } else {
    // The demo's admin token (metrics, purge): the caller's, or a fresh one for this run.
    process.env['PORTICO_ADMIN_TOKEN'] ||= `demo-${randomBytes(18).toString('base64url')}`;
    for (const region of ['eu-west', 'us-east', 'ap-south']) origins.push(await startEchoOrigin({ region }));
    const [eu, us, ap] = origins as [EchoOrigin, EchoOrigin, EchoOrigin];
    idp = await startDemoIdp();
    // The demo's country database, where this machine's loopback addresses are in Singapore and Canada.
    demoMmdb = join(mkdtempSync(join(tmpdir(), 'portico-demo-')), 'demo-country.mmdb');
    writeFileSync(demoMmdb, demoGeoDatabase());
    compiled = await compileConfig(
      demoConfig({ euWest: eu.url, usEast: us.url, apSouth: ap.url, idp: idp.url, mmdb: demoMmdb }),
      'embedded demo',
    );
  }
  const hot = await loadNodeHot(hotKind);
  const host = options.host ?? '127.0.0.1';
  let node: Awaited<ReturnType<typeof startNodeServer>>;
  try {
    node = await startNodeServer(compiled, { port, host, hot });
  } catch (e) {
    // The demo origins would keep the process alive: close them and say what to do.
    await Promise.all([...origins.map((o) => o.close()), idp?.close()]);
    if (demoMmdb) rmSync(dirname(demoMmdb), { recursive: true, force: true });
    const code = (e as { code?: unknown }).code;
    if (code === 'EADDRINUSE') err(`port ${port} on ${host} is already in use: stop what uses it, or pick another with --port`);
    else if (code === 'EACCES') err(`port ${port} on ${host} needs privileges: pick another with --port`);
    else err(`cannot start on ${host}:${port}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const base = node.url;
  out(
    `portico ${options.config ? `serving ${options.config}` : 'demo'} on ${base} (hot path: ${hotKind}, config ${compiled.hash.slice(0, 19)}…)`,
  );
  if (!options.config) {
    out(`demo origins: ${origins.map((o) => `${o.region} ${o.url}`).join(', ')}; demo issuer (JWKS) ${idp?.url}`);
    const valid = await idp?.mintDemoToken([DEMO_SCOPE]);
    const lacking = await idp?.mintDemoToken(['profile']);
    out('try:');
    out(`  curl -s ${base}/api/users/42`);
    out(`  curl -s -H 'x-canary: 1' ${base}/api/users/42`);
    out(`  curl -s ${base}/api/orders?limit=2           # prefix route, /api stripped`);
    out(`  curl -s ${base}/v1/catalog                   # rewritten to /v2/catalog`);
    out(`  curl -s ${base}/reports/2026-11.csv          # regex route`);
    out(`  curl -s -H 'host: acme.demo.localhost' ${base}/anything   # host route`);
    out(`  curl -s --path-as-is ${base}/api/../admin    # normalized before matching`);
    out(`  curl -s ${base}/api/%252e%252e/admin         # double encoding: 400`);
    out(`  curl -s '${base}/api/slow?delay=5000'        # origin too slow: 504`);
    out(`  curl -s -i -X DELETE ${base}/api/status      # 405 with Allow`);
    out(`  curl -s -H 'authorization: Bearer ${valid}' ${base}/secure/orders   # JWT with ${DEMO_SCOPE}: 200`);
    out(`  curl -s -i -H 'authorization: Bearer ${lacking}' ${base}/secure/orders   # lacks the scope: 403 insufficient_scope`);
    out(`  curl -s -i ${base}/secure/orders                   # no token: 401 with WWW-Authenticate: Bearer`);
    out(`  curl -s -H 'x-api-key: ${DEMO_API_KEY}' ${base}/partners/orders   # API key: the origin sees x-portico-consumer`);
    out(`  curl -s '${base}/partners/orders?api_key=${DEMO_API_KEY}&page=2'   # key in the query, removed before forwarding`);
    out(`  curl -s -i ${base}/partners/orders                   # no key: 401 with WWW-Authenticate: ApiKey`);
    out(`  curl -s -H 'x-portico-consumer: admin' ${base}/api/status   # a spoofed identity header is stripped`);
    out(
      `  curl -s -i -X OPTIONS -H 'Origin: http://localhost:5173' -H 'Access-Control-Request-Method: PUT' ${base}/api/users/42   # CORS preflight: 204 at the edge`,
    );
    out(`  curl -s -i -H 'Origin: http://localhost:5173' ${base}/api/users/42   # Access-Control-Allow-Origin + Vary: Origin`);
    out(
      `  for i in 1 2 3 4 5 6; do curl -s -o /dev/null -D - ${base}/limited/hello | grep -iE '^(HTTP/|retry-after|ratelimit)'; done   # 5 per 10 s per client: the 6th is 429`,
    );
    out(`  curl -s -i -X TRACE ${base}/api/status            # 405: TRACE is refused`);
    out(`  curl -s -H 'x-forwarded-user: admin' ${base}/api/users/42   # the origin never sees it`);
    const admin = process.env['PORTICO_ADMIN_TOKEN'];
    const ap = origins[2]?.url;
    out(`  curl -s -D - -o /dev/null ${base}/catalog/shoes | grep -i cache-status   # fwd=uri-miss; stored; ttl=30`);
    out(`  curl -s -D - -o /dev/null ${base}/catalog/shoes | grep -iE '^(cache-status|age)'   # hit, with Age`);
    out(
      `  curl -s -X POST -H 'authorization: Bearer ${admin}' -H 'content-type: application/json' -d '{"tags":["catalog"]}' ${base}/_portico/purge   # purge by tag`,
    );
    out(
      `  PORTICO_ADMIN_TOKEN=${admin} npx portico purge --url ${base} --tag catalog --soft   # the same from the CLI, marking stale`,
    );
    out(`  curl -s -D - -o /dev/null ${base}/nearest/hello | grep -i x-origin-region   # ap-south answers`);
    out(
      `  curl -s -D - -o /dev/null ${base}/geo/hello | grep -i x-origin-region   # a pool: the demo's geo database puts 127.0.0.1 in Singapore, so ap-south answers`,
    );
    out(`  curl -s -X POST '${ap}/_demo/down?mode=refuse'   # take ap-south down (or mode=slow&ms=5000, mode=503&retryAfter=5)`);
    out(
      `  for i in $(seq 8); do curl -s -o /dev/null -w '%{http_code} %header{x-origin-region} %{time_total}s\\n' ${base}/nearest/hello; done   # fails over; the breaker opens after 5 failures`,
    );
    out(`  curl -s -X POST ${ap}/_demo/up   # bring ap-south back: a half-open probe returns traffic within about 5 s`);
    out(`  curl -s -H 'authorization: Bearer ${admin}' ${base}/metrics | grep '^portico_requests_total'   # Prometheus`);
    out(
      `  curl -s -D - -o /dev/null -H 'x-probe-source: synthetic-monitor' ${base}/nearest/hello | grep -iE '^(x-portico-|server-timing)'   # routing decision for a trusted probe`,
    );
    out(`  curl -s ${base}/health`);
    out(`  npx portico explain GET ${base}/api/users/42 -H x-canary:1`);
    out('  npx portico init                                  # a starter portico.config.json (--ts for TypeScript)');
  }
  out('Ctrl-C drains requests in flight, then exits.');

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        err(`${signal} again: exiting now`);
        process.exit(130);
      }
      stopping = true;
      out(`\n${signal}: draining ${node.inFlight()} request(s) in flight…`);
      void node.drain().then(async (r) => {
        out(r.drained ? 'drained; bye' : `drain timed out, ${r.abandoned} request(s) cut off`);
        await Promise.all([...origins.map((o) => o.close()), idp?.close()]);
        if (demoMmdb) rmSync(dirname(demoMmdb), { recursive: true, force: true });
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

async function runValidate(file: string | undefined): Promise<number> {
  const target = file ?? findConfigFile();
  if (!target) {
    err('no config file given, and none of portico.config.{json,ts,mjs,js} is in this directory (portico init writes one)');
    return 2;
  }
  const compiled = await loadCompiled(target);
  if (!compiled) return 1;
  out(
    `${target}: valid (${compiled.routes.length} route${compiled.routes.length === 1 ? '' : 's'}, ` +
      `${Object.keys(compiled.origins).length} origin(s), ${compiled.hash})`,
  );
  return 0;
}

function parseHeaderArgs(values: unknown): Headers | string {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  const headers = new Headers();
  for (const raw of list) {
    const s = String(raw);
    const colon = s.indexOf(':');
    if (colon <= 0) return `-H: expected name:value, got "${s}"`;
    try {
      headers.append(s.slice(0, colon).trim(), s.slice(colon + 1).trim());
    } catch {
      return `-H: invalid header "${s}"`;
    }
  }
  return headers;
}

/** The route's policies in the order they run, around the upstream step (never a secret). */
function describePipeline(route: CompiledRoute): string {
  const steps = route.policies.map((p) => {
    const detail = policyDefinition(p.name)?.describe?.(p.config as never);
    return detail ? `${p.name} (${detail})` : p.name;
  });
  const at = route.policies.findIndex((p) => PHASES.indexOf(p.phase) > PHASES.indexOf('upstream'));
  steps.splice(at === -1 ? steps.length : at, 0, `upstream ${route.upstream.join(' then ')}`);
  return steps.join(' → ');
}

async function runExplain(
  method: string,
  rawUrl: string,
  options: { config?: string; H?: unknown; header?: unknown },
): Promise<number> {
  const headers = parseHeaderArgs(options.H ?? options.header);
  if (typeof headers === 'string') {
    err(headers);
    return 2;
  }
  let url: URL;
  try {
    url = new URL(rawUrl.startsWith('/') ? `http://localhost${rawUrl}` : rawUrl);
  } catch {
    err(`expected a URL such as http://api.example.com/users/42 or a path such as /users/42, got "${rawUrl}"`);
    return 2;
  }
  const file = options.config ?? findConfigFile();
  const compiled = file ? await loadCompiled(file) : await compileConfig(demoConfig(DEMO_PLACEHOLDERS), 'embedded demo');
  if (!compiled) return 1;
  const m = method.toUpperCase();
  const host = headers.get('host')?.replace(/:\d+$/, '').toLowerCase() ?? url.hostname;
  out(`${m} ${url.href}${file ? ` against ${file}` : ' against the embedded demo config'}`);
  const norm = normalizePath(url.pathname);
  if (!norm.ok) {
    out(`→ 400 Bad Request: the path cannot be routed safely: ${norm.reason}`);
    return 0;
  }
  out(`normalized path: ${norm.path}${norm.path !== url.pathname ? `  (from ${url.pathname})` : ''}; host: ${host}`);
  if (norm.path === '/health' || norm.path === '/ready') {
    out(`→ answered by the gateway itself (${norm.path} is reserved)`);
    return 0;
  }
  const matcher = createRouteMatcher(compiled, await loadNodeHot('wasm'));
  const { result, candidates } = matcher.explain(m, host, norm.path, headers);
  const preflight = m === 'OPTIONS' && result.kind === 'method' ? findPreflightRoute(matcher, host, norm.path, headers) : null;
  if (preflight?.kind === 'match') {
    const r = preflight.match.route;
    out(
      `→ CORS preflight for ${headers.get('access-control-request-method')}: answered by route "${r.id}"'s cors policy, never forwarded`,
    );
    out(`  pipeline: ${describePipeline(r)}`);
  } else if (result.kind === 'match') {
    const r = result.match.route;
    const params = Object.entries(result.match.params);
    out(`→ route "${r.id}" (${r.kind} ${r.pattern}) → ${r.pool ? `pool ${r.pool}: ` : ''}${r.upstream.join(', ')}`);
    out(`  params: ${params.length ? params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') : '(none)'}`);
    out(`  pipeline: ${describePipeline(r)}`);
    out(`  origins now: ${describeOriginOrder(compiled, r, headers)}`);
  } else if (result.kind === 'method') {
    out(`→ 405 Method Not Allowed (Allow: ${result.allow.join(', ')})`);
  } else {
    out('→ 404: no route matches');
  }
  out('candidates, in precedence order:');
  const idWidth = Math.max(...candidates.map((c) => c.route.id.length), 2);
  for (const c of candidates) {
    const mark = c.outcome === 'winner' ? '✔' : '✘';
    const label = `${c.route.kind} ${c.route.pattern}${c.host !== '*' ? ` @${c.host}` : ''}`;
    out(
      `  ${mark} ${c.route.id.padEnd(idWidth)}  ${label.padEnd(34)}  ${c.outcome === 'winner' ? 'WINNER' : `lost (${c.outcome}): ${c.detail}`}`,
    );
  }
  return 0;
}

/**
 * The order a request would try the route's origins in now, as a gateway just started sees it
 * (no breaker open, no latency observed yet: a running gateway's own state is in its log), with
 * the client's region from the config's geo headers among the -H headers.
 */
function describeOriginOrder(compiled: CompiledConfig, route: CompiledRoute, headers: Headers): string {
  const upstreams = new Upstreams(compiled, { now: Date.now, log: () => {} });
  const geo: { country?: string; continent?: string } = {};
  const country = compiled.geo?.countryHeader ? headers.get(compiled.geo.countryHeader) : null;
  const continent = compiled.geo?.continentHeader ? headers.get(compiled.geo.continentHeader) : null;
  if (country) geo.country = country.toUpperCase();
  if (continent) geo.continent = continent.toUpperCase();
  const plan = upstreams.plan(route, geo);
  const list = plan.origins.map((s) => `${s.origin.name} (${s.origin.region})`).join(' → ');
  const retry =
    route.retry === undefined ? 'retries: defaults' : route.retry === null ? 'no retries' : `up to ${route.retry.attempts} tries`;
  const region =
    plan.clientRegion === null
      ? 'first listed first, the rest by observed latency'
      : `client region ${plan.clientRegion}${country || continent ? ` (from ${[country, continent].filter(Boolean).join(', ')})` : ' (default: no geo given)'}, the rest by observed latency`;
  return `${list}  [${region}; ${retry}; breakers ${(route.breakers ?? route.upstream.length > 1) ? 'on' : 'off'}]`;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const cli = cac('portico');
  let pending: Promise<number> = Promise.resolve(0);

  cli
    .command('dev', 'Run the gateway locally on Node (the embedded demo when no config is given)')
    .option('--config <file>', 'Config file (JSON or defineConfig module)')
    .option('--port <port>', 'Port to listen on', { default: 8787 })
    .option('--host <host>', 'Interface to listen on', { default: '127.0.0.1' })
    .option('--hot <kind>', 'Hot path: wasm, wasm2js or twin', { default: 'wasm' })
    .action((options) => (pending = runDev(options)));

  cli
    .command('init', 'Write a starter portico.config.json here (portico.config.ts with --ts); never overwrites')
    .option('--ts', 'Write a typed, commented portico.config.ts instead')
    .action(
      (options) =>
        (pending = (async () => {
          const { runInitCommand } = await import('./init-command.ts');
          return runInitCommand({ ts: options.ts === true });
        })()),
    );

  cli
    .command('validate [file]', 'Check a config and print every error with its path')
    .action((file?: string) => (pending = runValidate(file)));

  cli
    .command('explain <method> <url>', 'Say which route matches a request, and why the others lost')
    .option('-H, --header <name:value>', 'Request header (repeatable)')
    .option('--config <file>', 'Config file (default: portico.config.* here, else the demo)')
    .action((method: string, url: string, options) => (pending = runExplain(method, url, options)));

  cli
    .command('build', 'Build the artifact for a platform under dist/<target>/')
    .option('--target <target>', 'node, deno, vercel, cloudflare, fastly or wasi')
    .option('--config <file>', 'Config file (default: portico.config.* in this directory)')
    .option('--out <dir>', 'Output folder (default: dist/<target>)')
    .action(
      (options) =>
        (pending = (async () => {
          const { runBuildCommand } = await import('./build-command.ts');
          return runBuildCommand(options);
        })()),
    );

  cli
    .command('deploy', "Hand the built artifact to the platform's deploy tool")
    .option('--target <target>', 'deno, vercel, cloudflare or fastly')
    .option('--dry-run', 'Print the exact command instead of running it')
    .option('--out <dir>', 'Artifact folder (default: dist/<target>)')
    .action(
      (options) =>
        (pending = (async () => {
          const { runDeployCommand } = await import('./build-command.ts');
          return runDeployCommand(options);
        })()),
    );

  cli
    .command(
      'bench <subject>',
      'Benchmarks: "matcher" compares the hot-path matcher with JS routers; "step" times the one-crossing request step; "forwarding" measures requests/s through the Node target (needs wrk); "limits" measures rate-limit accuracy, faults, cost and memory (needs redis-server); "failover" takes the nearest region down under load',
    )
    .option('--runs <n>', 'Independent runs to take the median of')
    .option('--quick', 'A fast smoke run (writes nothing)')
    .option('--out <dir>', 'Where to write the results (default: bench/results)')
    .option('--procs <n>', 'limits: gateway processes sharing one Redis (default 2)')
    .option('--limit <n>', 'limits: requests per window (default 2000)')
    .option('--window <w>', 'limits: the window, e.g. 1m, 1h (default 1h)')
    .option('--seconds <s>', 'limits: length of each accuracy run (default 5)')
    .option('--delays <ms,ms,ms>', "failover: the near, mid and far regions' delays (default 5,80,200)")
    .option('--loopback', 'failover: loopback ports, even where network namespaces can be made')
    .option('--instructions', 'cache: count instructions under callgrind (needs valgrind) instead of timing')
    .option('--blocks <n>', 'cache --instructions: measured blocks per workload (default 3)')
    .option('--requests <n>', 'cache --instructions: requests per block (default 2000)')
    .option('--warmup <n>', 'cache --instructions: requests of warm-up per server (default 8000)')
    .option('--only <ids>', 'cache --instructions: some of plain,plain-new,miss,hit')
    .option('--keep <dir>', 'cache --instructions: keep the callgrind dumps there')
    .option('--cache-sim', 'cache --instructions: simulate the caches too, and report estimated cycles')
    .action(
      (subject: string, options) =>
        (pending = (async () => {
          if (subject === 'cache') {
            const { cliMain } = await import('../bench/cache.ts');
            await cliMain(argv.slice(argv.indexOf(subject) + 1));
            return typeof process.exitCode === 'number' ? process.exitCode : 0;
          }
          if (
            subject !== 'matcher' &&
            subject !== 'step' &&
            subject !== 'forwarding' &&
            subject !== 'limits' &&
            subject !== 'failover'
          ) {
            err(`unknown benchmark "${subject}" (available: matcher, step, forwarding, limits, failover, cache)`);
            return 2;
          }
          if (subject !== 'matcher' && options.quick) {
            err('--quick: only "matcher" has a smoke mode');
            return 2;
          }
          const runs = options.runs === undefined ? undefined : Number(options.runs);
          if (runs !== undefined && (!Number.isInteger(runs) || runs < 1)) {
            err(`--runs: expected a whole number of runs, at least 1, got "${options.runs}"`);
            return 2;
          }
          const { cliMain } =
            subject === 'matcher'
              ? await import('../bench/matcher.ts')
              : subject === 'step'
                ? await import('../bench/request-step.ts')
                : subject === 'limits'
                  ? await import('../bench/limits.ts')
                  : subject === 'failover'
                    ? await import('../bench/failover.ts')
                    : await import('../bench/forwarding.ts');
          await cliMain(argv.slice(argv.indexOf(subject) + 1));
          return typeof process.exitCode === 'number' ? process.exitCode : 0;
        })()),
    );

  cli
    .command(
      'key <action> [key]',
      'API keys: "new" makes a key and prints its hash and config; "hash <key>" (or the key on stdin) prints the hash',
    )
    .option('--consumer <name>', 'key new: the consumer the key is for (default my-consumer)')
    .option('--plan <name>', 'key new: the plan to put in the config snippet')
    .option('--json', 'key new: print { consumer, key, hash } as one JSON line')
    .action(
      (action: string, key: string | undefined, options) =>
        (pending = (async () => {
          const { runKeyCommand, readProcessStdin } = await import('./key-command.ts');
          return runKeyCommand(action, key, options, { out, err, readStdin: readProcessStdin });
        })()),
    );

  cli
    .command('revoke', 'Revoke a JWT by jti or sub on a running gateway (admin token from $PORTICO_ADMIN_TOKEN)')
    .option('--url <url>', 'The gateway, e.g. https://api.example.com')
    .option('--jti <jti>', 'The token id to revoke')
    .option('--sub <sub>', 'The subject whose tokens to revoke')
    .option('--ttl <seconds>', 'How long the revocation lasts (default 86400)')
    .option('--token-env <name>', 'Variable holding the admin token (default PORTICO_ADMIN_TOKEN)')
    .option('--check', 'Say whether it is revoked instead')
    .option('--undo', 'Remove the revocation instead')
    .action(
      (options) =>
        (pending = (async () => {
          const { runRevokeCommand } = await import('./revoke-command.ts');
          return runRevokeCommand(options);
        })()),
    );

  cli
    .command('purge', "Purge a running gateway's cache by tag, URL or everything (admin token from $PORTICO_ADMIN_TOKEN)")
    .option('--url <url>', 'The gateway, e.g. https://api.example.com')
    .option('--tag <tag>', 'A tag (Surrogate-Key / Cache-Tag) to purge; repeatable')
    .option('--path <path>', 'A path on --url to purge; repeatable')
    .option('--purge-url <url>', 'An absolute URL to purge; repeatable')
    .option('--all', 'Purge everything')
    .option('--soft', 'Mark stale instead of deleting')
    .option('--token-env <name>', 'Variable holding the admin token (default PORTICO_ADMIN_TOKEN)')
    .action(
      (options) =>
        (pending = (async () => {
          const { runPurgeCommand } = await import('./purge-command.ts');
          return runPurgeCommand(options, { out, err });
        })()),
    );

  cli
    .command('warm', 'Fetch URLs from a list or an access log through a gateway so its cache holds them')
    .option('--url <url>', 'The gateway, e.g. http://127.0.0.1:8787')
    .option('--file <file>', 'List of paths/URLs or an access log (default: stdin)')
    .option('--concurrency <n>', 'Requests at once (default 8)')
    .action(
      (options) =>
        (pending = (async () => {
          const { runWarmCommand } = await import('./warm-command.ts');
          const { readFile } = await import('node:fs/promises');
          const readText = async (file: string | undefined) => {
            if (file) return readFile(file, 'utf8');
            const chunks: Buffer[] = [];
            for await (const c of process.stdin) chunks.push(c as Buffer);
            return Buffer.concat(chunks).toString('utf8');
          };
          return runWarmCommand(options, { out, err, readText });
        })()),
    );

  cli.help();
  cli.version('0.1.0');
  try {
    cli.parse(['node', 'portico', ...argv], { run: false });
    if (!cli.matchedCommand && !cli.options['help'] && !cli.options['version']) {
      if (argv.length > 0) err(`unknown command "${argv[0]}"`);
      cli.outputHelp();
      return argv.length > 0 ? 2 : 0;
    }
    await cli.runMatchedCommand();
    return await pending;
  } catch (e) {
    err(e instanceof Error ? e.message : String(e));
    return 2;
  }
}
