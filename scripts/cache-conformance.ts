/**
 * Runs the public HTTP-caching test suite (github.com/http-tests/cache-tests) through portico
 * as a reverse-proxy cache, and through any other caches given, and prints a table of passed,
 * failed and required-failed tests per contestant (optionally written to a Markdown file).
 *
 *   node --import tsx scripts/cache-conformance.ts --suite /path/to/cache-tests \
 *     [--compare nginx=http://127.0.0.1:8602 ...] [--results squid=squid.json ...] [--out FILE.md]
 *
 * The suite is not part of this repository and is never copied into it: pass the path of a
 * checkout with its dependencies installed (`npm i` there; the interim-response tests import
 * undici). It cannot run in CI, which has no GitHub access. The suite's own origin server is
 * started here on a free port; portico runs in this process with one catch-all `"cache": true`
 * route to it. A cache given with `--compare` must already proxy to that origin, so give its
 * port with `--origin-port` (default 8600) and start it before. Results are classified by the
 * suite's own code (its test list and result rules), loaded from the checkout.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileConfig } from '../core/config/index.ts';
import { loadNodeHot } from '../targets/node/hot.ts';
import { startNodeServer } from '../targets/node/server.ts';

interface Args {
  suite: string;
  originPort: number;
  port: number;
  compare: [string, string][];
  /** Results a run of the suite's CLI wrote earlier (name, JSON file), classified beside the live runs. */
  results: [string, string][];
  out: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { suite: '', originPort: 8600, port: 8601, compare: [], results: [], out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = argv[++i] ?? '';
    if (a === '--suite') args.suite = value;
    else if (a === '--origin-port') args.originPort = Number(value);
    else if (a === '--port') args.port = Number(value);
    else if (a === '--out') args.out = value;
    else if (a === '--compare') {
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
  return args;
}

/** The suite's CLI against one base URL; its JSON results. */
function runSuite(suite: string, base: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', join(suite, 'test-engine/cli.mjs')], {
      cwd: suite,
      env: { ...process.env, npm_config_base: base, npm_config_id: '', npm_package_config_id: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`the suite exited with code ${code}`);
        resolve(JSON.parse(out) as Record<string, unknown>);
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
  optionalFailed: number;
  other: number;
}

async function classify(suite: string, results: Record<string, unknown>): Promise<Tally> {
  const tests = (await import(pathToFileURL(join(suite, 'tests/index.mjs')).href)).default as {
    tests: { id: string; kind?: string }[];
  }[];
  const lib = await import(pathToFileURL(join(suite, 'test-engine/lib/results.mjs')).href);
  const types = lib.resultTypes as Record<string, unknown>;
  const tally: Tally = { passed: 0, failed: 0, requiredFailed: [], optionalFailed: 0, other: 0 };
  for (const s of tests) {
    for (const t of s.tests) {
      const r = lib.determineTestResult(tests, t.id, results);
      if (r === types['untested'] || r === types['yes'] || r === types['no']) continue;
      if (r === types['pass']) tally.passed++;
      else {
        tally.failed++;
        if (r === types['fail']) tally.requiredFailed.push(t.id);
        else if (r === types['optional_fail']) tally.optionalFailed++;
        else tally.other++;
      }
    }
  }
  return tally;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const origin = spawn(process.execPath, [join(args.suite, 'test-engine/server/server.mjs')], {
    cwd: args.suite,
    env: {
      ...process.env,
      npm_config_protocol: 'http',
      npm_config_port: String(args.originPort),
      npm_config_pidfile: join(args.suite, '.server.pid'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    origin.stdout.setEncoding('utf8').on('data', (c: string) => c.includes('Listening') && resolve());
    origin.once('exit', (code) => reject(new Error(`the suite's server exited with code ${code}`)));
  });
  const config = await compileConfig({
    origins: { suite: { url: `http://127.0.0.1:${args.originPort}`, region: 'local' } },
    routes: [{ match: { path: '/*' }, upstream: 'suite', cache: true }],
  });
  const server = await startNodeServer(config, {
    port: args.port,
    host: '127.0.0.1',
    hot: await loadNodeHot('wasm'),
    log: () => {},
  });
  const rows: [string, Tally][] = [];
  try {
    for (const [name, base] of [['portico', `http://127.0.0.1:${args.port}`], ...args.compare] as [string, string][]) {
      process.stderr.write(`running the suite through ${name} (${base})…\n`);
      rows.push([name, await classify(args.suite, await runSuite(args.suite, base))]);
    }
    for (const [name, file] of args.results) {
      rows.push([name, await classify(args.suite, JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)]);
    }
  } finally {
    origin.kill();
    await (server as { close?: () => Promise<void> | void }).close?.();
  }
  const lines = [
    '| cache | passed | failed | required failed | optional (optimal) failed | setup/dependency |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      ([n, t]) => `| ${n} | ${t.passed} | ${t.failed} | ${t.requiredFailed.length} | ${t.optionalFailed} | ${t.other} |`,
    ),
    '',
    ...rows.map(([n, t]) => `- ${n}, required failures: ${t.requiredFailed.join(', ') || 'none'}`),
  ];
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);
  if (args.out) writeFileSync(args.out, text);
  process.exit(0);
}

await main();
