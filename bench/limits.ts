/**
 * `portico bench limits`: how far each rate-limit mode can be off, what it costs, and what the
 * local table weighs.
 *
 * - Accuracy: `--procs` Node gateway processes (default 2) share one redis-server; a limit of
 *   `--limit` requests per `--window` (default 3000 per 1h, so no refill during a run) on one
 *   client key; 32 concurrent clients spread over the gateways for `--seconds` (default 8), far
 *   above the limit. Admitted / L per mode, over `--runs` runs (default 3). Expected: strict
 *   exactly 1; approximate at most 1 + min(R·(2T + 4d), (N−1)·L) / L; local up to N.
 * - Faults: strict with onStoreError open (localShare 0.5); Redis killed at 1/3 of the run and
 *   restarted at 2/3. No crash, no answer but 200/429, no request longer than the store timeout
 *   plus the gateway's own time.
 * - Cost: requests/s through one gateway with no limit, a local limit, approximate and strict
 *   (limits never reached), interleaved in the same run.
 * - Memory: the bucket table with 1M live keys (RSS, bytes, ns per consume, keys held).
 * Writes bench/results/limits.{json,md,svg}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startEchoOrigin, type EchoOrigin } from '../scripts/demo/echo-origin.ts';
import { startRedisServer, type RedisServer } from '../test/stores/_redis.ts';
import { TS_LOADER } from './_loader.ts';

interface Options {
  procs: number;
  limit: number;
  window: string;
  seconds: number;
  runs: number;
  syncMs: number;
  timeoutMs: number;
  outDir: string;
}

const ROOT = new URL('../', import.meta.url);
const CONCURRENCY = 32;

function parseArgs(argv: string[]): Options {
  const get = (name: string, fallback: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
  };
  const num = (name: string, fallback: number): number => {
    const n = Number(get(name, String(fallback)));
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got "${get(name, '')}"`);
    return n;
  };
  return {
    procs: num('procs', 2),
    limit: num('limit', 3000),
    window: get('window', '1h'),
    seconds: num('seconds', 8),
    runs: num('runs', 3),
    syncMs: num('sync', 100),
    timeoutMs: num('timeout', 100),
    outDir: get('out', fileURLToPath(new URL('bench/results/', ROOT))),
  };
}

interface Gateway {
  url: string;
  child: ChildProcess;
  stderr: string[];
}

async function startGateway(config: unknown, redisUrl: string): Promise<Gateway> {
  const child = spawn(process.execPath, ['--import', TS_LOADER, fileURLToPath(new URL('bench/_limits-gateway.ts', ROOT))], {
    cwd: fileURLToPath(ROOT),
    env: { ...process.env, PORTICO_BENCH_CONFIG: JSON.stringify(config), PORTICO_BENCH_REDIS: redisUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (c: Buffer) => stderr.push(...c.toString().split('\n').filter(Boolean)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${stderr.join('\n')}`)));
  });
  return { url, child, stderr };
}

async function stopGateway(g: Gateway): Promise<void> {
  if (g.child.exitCode !== null) return;
  const exited = new Promise((r) => g.child.once('exit', r));
  g.child.kill('SIGTERM');
  await exited;
}

interface Accuracy {
  ratio: number[];
  admitted: number[];
  rate: number[];
  maxMs: number[];
  bound: number[];
  unavailable: number[];
  outages: number[];
  /** L over the run: L + L·D/W for a token bucket, L for the sliding window. */
  limitOverRun: number[];
  /** approximate: 2(W + d) in ms, the span whose arrivals bound the excess. */
  span: number[];
}

/** Seconds of a window such as `1h`, `10s`, `500ms`. */
function durationSeconds(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`--window: expected a window such as 1m or 1h, got "${text}"`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

/** Most requests sent in any run of slices covering `spanMs` (one slice more, for alignment). */
function maxArrivals(sent: number[], spanMs: number): number {
  const k = Math.ceil(spanMs / 100) + 1;
  let best = 0;
  for (let i = 0; i < sent.length; i++) {
    let sum = 0;
    for (let j = i; j < Math.min(sent.length, i + k); j++) sum += sent[j]!;
    best = Math.max(best, sum);
  }
  return best;
}

interface LoadResult {
  sent: number;
  admitted: number;
  refused: number;
  /** 503: a closed limit whose store did not answer in time. */
  unavailable: number;
  other: number;
  maxMs: number;
  /** Admitted per 100 ms slice. */
  timeline: number[];
  /** Sent per 100 ms slice. */
  sentTimeline: number[];
  seconds: number;
}

/** `CONCURRENCY` loops over keep-alive pools, round-robin over the gateways, for `seconds`. */
async function load(
  urls: string[],
  path: string,
  seconds: number,
  client: string,
  during?: (t: number) => void,
): Promise<LoadResult> {
  const pools = urls.map((u) => new Pool(u, { connections: Math.ceil(CONCURRENCY / urls.length), pipelining: 1 }));
  const started = performance.now();
  const end = started + seconds * 1000;
  const r: LoadResult = {
    sent: 0,
    admitted: 0,
    refused: 0,
    unavailable: 0,
    other: 0,
    maxMs: 0,
    timeline: [],
    sentTimeline: [],
    seconds,
  };
  let next = 0;
  const loop = async (i: number) => {
    while (performance.now() < end) {
      const pool = pools[(next++ + i) % pools.length]!;
      const t = performance.now();
      let status = 0;
      try {
        const res = await pool.request({ path, method: 'GET', headers: { 'x-forwarded-for': client } });
        status = res.statusCode;
        await res.body.dump();
      } catch {
        status = 0;
      }
      const ms = performance.now() - t;
      r.sent++;
      const sentSlice = Math.floor((t - started) / 100);
      r.sentTimeline[sentSlice] = (r.sentTimeline[sentSlice] ?? 0) + 1;
      r.maxMs = Math.max(r.maxMs, ms);
      if (status === 200) {
        r.admitted++;
        const slice = Math.floor((t - started) / 100);
        r.timeline[slice] = (r.timeline[slice] ?? 0) + 1;
      } else if (status === 429) r.refused++;
      else if (status === 503) r.unavailable++;
      else r.other++;
      during?.(t - started);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => loop(i)));
  r.seconds = (performance.now() - started) / 1000;
  await Promise.all(pools.map((p) => p.close()));
  for (let i = 0; i < r.timeline.length; i++) r.timeline[i] ??= 0;
  for (let i = 0; i < r.sentTimeline.length; i++) r.sentTimeline[i] ??= 0;
  return r;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function configFor(origin: EchoOrigin, o: Options, huge = false) {
  const requests = huge ? 1_000_000_000 : o.limit;
  return {
    trustedProxies: ['127.0.0.1'],
    origins: { o: { url: origin.url, region: 'local' } },
    stores: {
      redis: { url: { env: 'PORTICO_BENCH_REDIS' } },
      counters: { timeoutMs: o.timeoutMs, failures: 3, cooldownMs: 500 },
    },
    routes: [
      { id: 'none', match: { path: '/none' }, upstream: 'o' },
      { id: 'local', match: { path: '/local' }, upstream: 'o', rateLimit: { limits: [{ requests, per: o.window }] } },
      {
        id: 'local-no-headers',
        match: { path: '/local-no-headers' },
        upstream: 'o',
        rateLimit: { headers: 'none', limits: [{ requests, per: o.window }] },
      },
      {
        id: 'approximate',
        match: { path: '/approximate' },
        upstream: 'o',
        rateLimit: { limits: [{ requests, per: o.window, mode: 'approximate', syncMs: o.syncMs }] },
      },
      {
        // closed: a store call that fails or times out refuses (503) rather than count locally,
        // so this route shows strict's own bound; /strict-open shows the fallback.
        id: 'strict',
        match: { path: '/strict' },
        upstream: 'o',
        rateLimit: { limits: [{ requests, per: o.window, mode: 'strict', onStoreError: 'closed' }] },
      },
      {
        id: 'strict-open',
        match: { path: '/strict-open' },
        upstream: 'o',
        rateLimit: { limits: [{ requests, per: o.window, mode: 'strict', onStoreError: 'open', localShare: 0.5 }] },
      },
    ],
  };
}

/** ns per request through gateway.fetch, per route, median of interleaved rounds (ratios per round). */
async function inProcessCost(runs: number): Promise<Record<string, { ns: number; ratio: number }>> {
  const { compileConfig } = await import('../core/config/index.ts');
  const { createGateway } = await import('../core/gateway.ts');
  const { loadNodeHot } = await import('../targets/node/hot.ts');
  const limits = [{ requests: 1_000_000_000, per: '1s' }];
  const config = await compileConfig({
    origins: { o: { url: 'http://127.0.0.1:9', region: 'x' } },
    routes: [
      { id: 'none', match: { path: '/none' }, upstream: 'o' },
      { id: 'local', match: { path: '/local' }, upstream: 'o', rateLimit: { limits } },
      { id: 'local-no-headers', match: { path: '/local-no-headers' }, upstream: 'o', rateLimit: { headers: 'none', limits } },
    ],
  });
  const gw = createGateway(config, {
    forward: async () => new Response('ok', { headers: { 'content-type': 'text/plain' } }),
    now: Date.now,
    hot: await loadNodeHot('wasm'),
  });
  await gw.ready;
  const ctx = { clientAddress: '10.0.0.1', waitUntil() {}, onClientGone: () => () => {} };
  const routes = ['none', 'local', 'local-no-headers'];
  const time = async (path: string, n: number): Promise<number> => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await (await gw.fetch(new Request(`http://gw.test${path}`), ctx)).text();
    return Number(process.hrtime.bigint() - t) / n;
  };
  // Inputs checked: the limited routes send their headers (or not), and answer 200.
  const probe = await gw.fetch(new Request('http://gw.test/local'), ctx);
  if (probe.status !== 200 || !probe.headers.get('ratelimit')) throw new Error('in-process: /local is not limited');
  for (const r of routes) await time(`/${r}`, 5000);
  const ns: Record<string, number[]> = Object.fromEntries(routes.map((r) => [r, []]));
  const ratios: Record<string, number[]> = Object.fromEntries(routes.map((r) => [r, []]));
  for (let round = 0; round < Math.max(6, 2 * runs); round++) {
    const got: Record<string, number> = {};
    for (const r of round % 2 ? [...routes].reverse() : routes) got[r] = await time(`/${r}`, 10_000);
    for (const r of routes) {
      ns[r]!.push(got[r]!);
      // Throughput ratio: requests/s with the limit over requests/s without.
      ratios[r]!.push(got['none']! / got[r]!);
    }
  }
  return Object.fromEntries(routes.map((r) => [r, { ns: median(ns[r]!), ratio: median(ratios[r]!) }]));
}

function memoryRun(keys: number, capacity: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        TS_LOADER,
        fileURLToPath(new URL('bench/_limits-memory.ts', ROOT)),
        String(keys),
        String(capacity),
      ],
      { cwd: fileURLToPath(ROOT), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`memory run exited with ${code}`))));
  });
}

function svg(series: { name: string; timeline: number[] }[], limit: number, procs: number): string {
  const W = 640;
  const H = 320;
  const pad = 40;
  const len = Math.max(...series.map((s) => s.timeline.length), 1);
  const maxY = Math.max(limit * procs, ...series.map((s) => s.timeline.reduce((a, b) => a + b, 0))) * 1.05;
  const x = (i: number) => pad + ((W - 2 * pad) * i) / len;
  const y = (v: number) => H - pad - ((H - 2 * pad) * v) / maxY;
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];
  const lines = series.map((s, k) => {
    let sum = 0;
    const pts = s.timeline.map((v, i) => {
      sum += v;
      return `${x(i + 1).toFixed(1)},${y(sum).toFixed(1)}`;
    });
    return `<polyline fill="none" stroke="${colors[k % colors.length]}" stroke-width="2" points="${x(0)},${y(0)} ${pts.join(' ')}"/><text x="${W - pad + 4}" y="${(y(sum) + 4).toFixed(1)}" font-size="11" fill="${colors[k % colors.length]}">${s.name}</text>`;
  });
  const guide = (v: number, label: string) =>
    `<line x1="${pad}" x2="${W - pad}" y1="${y(v)}" y2="${y(v)}" stroke="#999" stroke-dasharray="4 3"/><text x="${pad + 2}" y="${y(v) - 3}" font-size="10" fill="#666">${label}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 80}" height="${H}" font-family="sans-serif">
<text x="${pad}" y="16" font-size="13">Admitted requests over time (cumulative), ${procs} gateways, one Redis</text>
<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#000"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#000"/>
<text x="${W / 2}" y="${H - 10}" font-size="11">time (100 ms slices)</text>
${guide(limit, `L = ${limit}`)}${guide(limit * procs, `N·L = ${limit * procs}`)}
${lines.join('\n')}
</svg>
`;
}

export async function runLimitsBench(o: Options): Promise<string> {
  const origin = await startEchoOrigin({ region: 'local' });
  const redis: RedisServer = await startRedisServer();
  const results: Record<string, unknown> = {
    options: { ...o, concurrency: CONCURRENCY },
    node: process.version,
    date: new Date().toISOString(),
  };
  const gws: Gateway[] = [];
  const firstTimelines: { name: string; timeline: number[] }[] = [];
  try {
    for (let i = 0; i < o.procs; i++) gws.push(await startGateway(configFor(origin, o), redis.url));
    const urls = gws.map((g) => g.url);
    // Inputs checked before timing: every gateway answers, and limits are in place.
    for (const u of urls) {
      const res = await fetch(`${u}/local`, { headers: { 'x-forwarded-for': '192.0.2.254' } });
      if (res.status !== 200 || !res.headers.get('ratelimit-policy')) throw new Error(`gateway ${u} is not limiting /local`);
      await res.body?.cancel();
    }

    // Warm-up: every route of every gateway, so the runs do not time the JIT.
    for (const route of ['none', 'local', 'approximate', 'strict']) await load(urls, `/${route}`, 1, `192.0.2.${route.length}`);

    // ── accuracy ──
    const accuracy: Record<string, Accuracy> = {};
    for (let run = 0; run < o.runs; run++) {
      for (const mode of ['strict', 'approximate', 'local'] as const) {
        const logged = gws.map((g) => g.stderr.length);
        const r = await load(urls, `/${mode}`, o.seconds, `198.51.${run}.${mode.length}`);
        const outages = gws.reduce(
          (n, g, i) => n + g.stderr.slice(logged[i]).filter((l) => l.includes('counter store unreachable')).length,
          0,
        );
        const a: Accuracy = accuracy[mode] ?? {
          ratio: [],
          admitted: [],
          rate: [],
          maxMs: [],
          bound: [],
          unavailable: [],
          outages: [],
          span: [],
          limitOverRun: [],
        };
        accuracy[mode] = a;
        a.unavailable.push(r.unavailable);
        a.outages.push(outages);
        a.maxMs.push(r.maxMs);
        a.admitted.push(r.admitted);
        // A token bucket (strict, local) refills during the run: its limit over a run of D
        // seconds is L + L·D/W. The sliding window (approximate) has no refill within a window.
        const windowSeconds = durationSeconds(o.window);
        const limitOverRun = mode === 'approximate' ? o.limit : o.limit + (o.limit * r.seconds) / windowSeconds;
        a.limitOverRun.push(limitOverRun);
        a.ratio.push(r.admitted / limitOverRun);
        const rate = r.sent / r.seconds;
        a.rate.push(rate);
        if (mode === 'approximate') {
          // The bound with the waits W and round trips d that actually happened: the gateways
          // log syncs slower than declared (W > T + 50 ms or d > 50 ms); without such a line,
          // W <= T + 50 and d <= 50. Excess <= min(arrivals in any span of 2(W + d), (N-1)·L).
          const slow = gws.flatMap((g, i) =>
            g.stderr
              .slice(logged[i])
              .filter((l) => l.includes('rate-limit sync slower than declared'))
              .map((l) => JSON.parse(l) as { waitMs: number; roundTripMs: number }),
          );
          const wait = Math.max(o.syncMs + 50, ...slow.map((x) => x.waitMs));
          const d = Math.max(50, ...slow.map((x) => x.roundTripMs));
          const span = 2 * (wait + d);
          a.bound.push(1 + Math.min(maxArrivals(r.sentTimeline, span), (o.procs - 1) * o.limit) / o.limit);
          a.span.push(span);
        }
        if (r.other > 0) throw new Error(`${mode}: ${r.other} answers that were neither 200, 429 nor 503`);
        if (run === 0) firstTimelines.push({ name: mode, timeline: r.timeline });
        process.stderr.write(
          `accuracy run ${run + 1} ${mode}: admitted ${r.admitted} of L=${o.limit} (${r.sent} sent, ${rate.toFixed(0)}/s, ${r.unavailable} × 503, ${outages} store outages)\n`,
        );
      }
    }
    results['accuracy'] = accuracy;

    // ── faults ──
    let killed = false;
    let restarted = false;
    const third = (o.seconds * 1000) / 3;
    const faultRun = await load(urls, '/strict-open', Math.max(o.seconds, 3), '198.51.200.1', (t) => {
      if (!killed && t > third) {
        killed = true;
        void redis.stop();
      } else if (killed && !restarted && t > 2 * third) {
        restarted = true;
        void redis.start();
      }
    });
    // Every gateway should log its way back: wait for it (up to 5 s after the run, with a trickle
    // of requests).
    const backBy = Date.now() + 5000;
    const recovered = () => gws.every((g) => g.stderr.some((l) => l.includes('counter store reachable again')));
    // The breaker probes on requests: keep a trickle going until every gateway is back.
    while (!recovered() && Date.now() < backBy) {
      await Promise.all(
        urls.map((u) =>
          fetch(`${u}/strict-open`, { headers: { 'x-forwarded-for': '198.51.200.2' } }).then((res) => res.body?.cancel()),
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    const recoveredAfterRunMs = recovered() ? 5000 - (backBy - Date.now()) : null;
    const transitions = gws.flatMap((g, i) =>
      g.stderr
        .filter((l) => l.includes('counter store'))
        .map((l) => `gateway ${i + 1}: ${(JSON.parse(l) as { msg: string }).msg}`),
    );
    results['faults'] = {
      admitted: faultRun.admitted,
      refused: faultRun.refused,
      other: faultRun.other,
      maxMs: faultRun.maxMs,
      sent: faultRun.sent,
      transitions,
      gatewaysAlive: gws.every((g) => g.child.exitCode === null),
      recoveredAfterRunMs,
      timeline: faultRun.timeline,
    };
    firstTimelines.push({ name: 'strict, Redis killed', timeline: faultRun.timeline });
    process.stderr.write(`faults: ${JSON.stringify({ ...(results['faults'] as object), timeline: undefined })}\n`);
    for (const g of gws) await stopGateway(g);
    gws.length = 0;

    // ── cost: one gateway, limits never reached ──
    const one = await startGateway(configFor(origin, o, true), redis.url);
    gws.push(one);
    // Short rounds, the order reversed every other round, and each route's ratio taken against
    // the no-limit route of the same round: the machine's drift cancels out of the ratios.
    const routes = ['none', 'local', 'local-no-headers', 'approximate', 'strict'];
    const rps: Record<string, number[]> = Object.fromEntries(routes.map((k) => [k, []]));
    const ratios: Record<string, number[]> = Object.fromEntries(routes.map((k) => [k, []]));
    for (const route of routes) await load([one.url], `/${route}`, 1, '192.0.2.1');
    const rounds = Math.max(10, 2 * o.runs);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? [...routes].reverse() : routes;
      const got: Record<string, number> = {};
      for (const route of order) {
        const r = await load([one.url], `/${route}`, 1.5, `192.0.2.${10 + round}`);
        if (r.other > 0 || r.refused > 0) throw new Error(`cost ${route}: ${r.other + r.refused} answers that were not 200`);
        got[route] = r.sent / r.seconds;
        rps[route]!.push(got[route]!);
      }
      for (const route of routes) ratios[route]!.push(got[route]! / got['none']!);
    }
    results['cost'] = Object.fromEntries(
      routes.map((k) => [k, { rps: median(rps[k]!), ratio: median(ratios[k]!), ratios: ratios[k], rounds: rps[k] }]),
    );
    process.stderr.write(`cost: ${JSON.stringify(results['cost'])}\n`);
  } finally {
    for (const g of gws) await stopGateway(g);
    await redis.stop();
    await origin.close();
  }

  // ── cost in-process: gateway.fetch with a forward that answers at once (no sockets) ──
  results['costInProcess'] = await inProcessCost(o.runs);
  process.stderr.write(`cost in-process: ${JSON.stringify(results['costInProcess'])}\n`);

  // ── memory ──
  const memory = [await memoryRun(1000, 4096), await memoryRun(1_000_000, 1 << 20), await memoryRun(1_000_000, 1 << 21)];
  results['memory'] = memory;
  process.stderr.write(`memory: ${JSON.stringify(memory)}\n`);

  mkdirSync(o.outDir, { recursive: true });
  writeFileSync(join(o.outDir, 'limits.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = markdown(results, o);
  writeFileSync(join(o.outDir, 'limits.md'), md);
  writeFileSync(join(o.outDir, 'limits.svg'), svg(firstTimelines, o.limit, o.procs));
  return md;
}

function markdown(r: Record<string, unknown>, o: Options): string {
  const acc = r['accuracy'] as Record<string, Accuracy>;
  const f = r['faults'] as Record<string, number | boolean | string[]>;
  const cost = r['cost'] as Record<string, { rps: number; ratio: number }>;
  const mem = r['memory'] as Record<string, number>[];
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(', ');
  const MiB = (b: number) => (b / 1048576).toFixed(1);
  return `# portico bench limits

${r['date']}, Node ${r['node']}; ${o.procs} gateway processes, one redis-server (loopback), ${CONCURRENCY} concurrent clients.
Limit L = ${o.limit} per ${o.window} on one client key, runs of ${o.seconds} s, ${o.runs} runs; approximate syncs every ${o.syncMs} ms.

## Accuracy: admitted / L

strict and local are token buckets (local on the Wasm table, strict in one Redis script), which refill during a run: their L over a run of D seconds is L + L·D/W (${(o.limit + (o.limit * o.seconds) / durationSeconds(o.window)).toFixed(1)} for ${o.seconds} s), and the ratio is taken against that. approximate is a sliding window (no refill within the window): against L.

| mode | admitted / L per run | expected | offered req/s (median) | 503 (store late, closed) | store outages |
| --- | --- | --- | ---: | --- | --- |
| strict (onStoreError closed) | ${fmt(acc['strict']!.ratio)} | exactly 1; below 1 only by consumes that timed out | ${median(acc['strict']!.rate).toFixed(0)} | ${acc['strict']!.unavailable.join(', ')} | ${acc['strict']!.outages.join(', ')} |
| approximate | ${fmt(acc['approximate']!.ratio)} | at most ${fmt(acc['approximate']!.bound)}: 1 + min(arrivals in any 2(W + d), (N−1)·L) / L, with 2(W + d) = ${acc['approximate']!.span.map((x) => x.toFixed(0)).join(', ')} ms | ${median(acc['approximate']!.rate).toFixed(0)} | ${acc['approximate']!.unavailable.join(', ')} | ${acc['approximate']!.outages.join(', ')} |
| local | ${fmt(acc['local']!.ratio)} | at most N = ${o.procs} | ${median(acc['local']!.rate).toFixed(0)} | | |

## Faults: strict, onStoreError open (localShare 0.5), Redis killed at 1/3 and restarted at 2/3

- admitted ${f['admitted']} (L = ${o.limit}; bound while degraded and after a restart that lost the counts: (2 + N·0.5)·(L + L·D/W) = ${((2 + o.procs * 0.5) * (o.limit + (o.limit * Math.max(o.seconds, 3)) / durationSeconds(o.window))).toFixed(0)}), refused ${f['refused']}, other answers ${f['other']}, sent ${f['sent']};
- slowest request ${(f['maxMs'] as number).toFixed(0)} ms (store timeout ${o.timeoutMs} ms; slowest request of the fault-free strict runs under the same load: ${Math.max(...acc['strict']!.maxMs).toFixed(0)} ms); gateways alive after: ${f['gatewaysAlive']};
- store transitions logged (each once): ${(f['transitions'] as string[]).join('; ')}; every gateway back ${f['recoveredAfterRunMs'] === null ? 'NOT within 5 s of the end of the run' : `by ${f['recoveredAfterRunMs']} ms after the end of the run`} (Redis restarted at 2/3 of it).

## Cost: requests/s through one gateway (limit never reached)

Interleaved rounds of 1.5 s per route (order reversed every other round); the ratio is the median of each round's ratio to the no-limit route of the same round.

| route | req/s | × no limit |
| --- | ---: | ---: |
${Object.entries(cost)
  .map(([k, v]) => `| ${k} | ${v.rps.toFixed(0)} | ${v.ratio.toFixed(3)} |`)
  .join('\n')}

The load generator runs on the same 2 shared cores as the gateway and Redis (and other work on the machine), so absolute numbers are low and rounds vary; the ratios are what this run compares.

In process (gateway.fetch with a forward that answers at once, no sockets; what the limit itself adds to a request):

| route | ns / request | throughput × no limit |
| --- | ---: | ---: |
${Object.entries(r['costInProcess'] as Record<string, { ns: number; ratio: number }>)
  .map(([k, v]) => `| ${k} | ${v.ns.toFixed(0)} | ${v.ratio.toFixed(3)} |`)
  .join('\n')}

## Memory: the local bucket table (Wasm), with 1M live keys and with 1000

40 bytes a slot; a key is kept within 8 slots of its home slot, so a table needs about twice as many slots as live keys to keep nearly all of them (an evicted key starts full again: more lenient, never stricter). ns per consume includes the JS wrapper; with 1M keys most of it is cache misses on a table far larger than the CPU caches.

| keys | slots | table bytes | RSS growth | keys held | ns / consume (hash given) | ns / hash + consume |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${mem
  .map(
    (m) =>
      `| ${m['keys']} | ${m['capacity']} | ${MiB(m['tableBytes']!)} MiB | ${MiB(m['rssAfter']! - m['rssBefore']!)} MiB | ${((100 * m['held']!) / m['keys']!).toFixed(1)} % | ${m['consumeNs']!.toFixed(0)} | ${m['hashConsumeNs']!.toFixed(0)} |`,
  )
  .join('\n')}
`;
}

export async function cliMain(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  const md = await runLimitsBench(o);
  process.stdout.write(md);
}
