/**
 * `portico bench failover`: how fast a regional outage is survived.
 *
 * Three origins stand for three regions, `near`, `mid` and `far`, with 5, 80 and 200 ms of delay.
 * Where network namespaces can be made (root, `ip netns`), each origin runs as its own process in
 * its own namespace, reached over a veth pair, and the delay is a `tc … netem` qdisc on its link
 * when the kernel has netem, else inside the origin (these machines have no sch_netem). Elsewhere
 * the origins are loopback ports in this process with the delay inside them. The report says which.
 *
 * A Node gateway serves a pool of the three (the client's region: near). Closed-loop load of
 * CONCURRENCY clients runs through it during each scenario:
 * - `outage`: near is killed (its port closed: connection refused) and later started again on the
 *   same port; recovery goes through the breaker's half-open probe;
 * - `503`: near answers 503 with Retry-After: 1;
 * - `slow`: near answers after 3 s (the per-try timeout is 500 ms);
 * - `flap`: near goes down and up every 400 ms;
 * - `blackhole` (namespaces only): near's link goes down, so packets vanish and connects hang
 *   until the per-try timeout, as when a region drops off the network rather than refusing.
 * Measured per scenario: the time until requests stop trying near (from the access log's
 * attempts), p50 and p99 of the requests started meanwhile, the share that failed, p50 after the
 * failover, the time until near serves again after it returns, and whether the latency averages
 * order the regions as their delays do. Writes bench/results/failover.{json,md,svg}.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { compileConfig } from '../core/config/index.ts';
import { type DownMode, startEchoOrigin, type EchoOrigin } from '../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../targets/node/server.ts';
import { TS_LOADER } from './_loader.ts';

const CONCURRENCY = 8;
type RegionName = 'near' | 'mid' | 'far';
/** Each region's delay in milliseconds; `--delays 5,80,200` sets near, mid and far. */
const DELAYS: Record<RegionName, number> = { near: 5, mid: 80, far: 200 };

interface Sample {
  /** Start, ms from the scenario's start. */
  t: number;
  ms: number;
  status: number;
  region: string;
}

interface Attempts {
  /** When the request started (its log line's time less its duration), ms from the scenario's start. */
  t: number;
  attempts: { origin: string; outcome: string }[];
}

interface ScenarioResult {
  name: string;
  faultAtMs: number;
  restoreAtMs: number;
  requests: number;
  failed: number;
  failedShare: number;
  /** From the fault until requests stopped trying near first (breaker open, or Retry-After), ms. */
  switchMs: number | null;
  /** From the fault until near's breaker opened, ms (null when it never opened: a Retry-After, say). */
  breakerOpenMs: number | null;
  /** Requests that still tried near after the switch and before the restore (half-open probes). */
  probes: number;
  /** Latency of the requests started between the fault and the switch. */
  duringP50: number | null;
  duringP99: number | null;
  /** p50 latency from the switch to the restore. */
  afterP50: number | null;
  /** From the restore until near answered again, ms (through half-open). */
  recoveryMs: number | null;
  retries: number;
  samples: Sample[];
}

function pct(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
}

type Scenario = 'outage' | '503' | 'slow' | 'flap' | 'blackhole';
type Network = 'netns+netem' | 'netns' | 'loopback';

/** One region's origin, wherever it runs. */
interface Region {
  readonly url: string;
  setDown(down: DownMode | null): Promise<void>;
  /** It stops (its process dies, or its server closes): connections are refused. */
  kill(): Promise<void>;
  /** It starts again on the same address. */
  revive(): Promise<void>;
  /** Namespaces only: its link goes down (or back up); packets vanish, connects hang. */
  cut?(down: boolean): void;
  close(): Promise<void>;
}

class LoopbackRegion implements Region {
  private constructor(
    private origin: EchoOrigin,
    private readonly name: RegionName,
  ) {}

  static async start(name: RegionName): Promise<LoopbackRegion> {
    return new LoopbackRegion(await startEchoOrigin({ region: name, latencyMs: DELAYS[name] }), name);
  }

  get url(): string {
    return this.origin.url;
  }

  async setDown(down: DownMode | null): Promise<void> {
    this.origin.setDown(down);
  }

  kill(): Promise<void> {
    return this.origin.close();
  }

  async revive(): Promise<void> {
    this.origin = await startEchoOrigin({ region: this.name, latencyMs: DELAYS[this.name], port: this.origin.port });
  }

  close(): Promise<void> {
    return this.origin.close().catch(() => {});
  }
}

const ORIGIN_PORT = 8080;
const ORIGIN_SCRIPT = fileURLToPath(new URL('./_failover-origin.ts', import.meta.url));

/** The namespace, links and addresses of region number `i`. */
function netnsNames(i: number): { ns: string; host: string; peer: string; hostAddr: string; nsAddr: string } {
  return { ns: `portico-fo-${i}`, host: `pfo${i}h`, peer: `pfo${i}n`, hostAddr: `10.213.${i}.1`, nsAddr: `10.213.${i}.2` };
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}

/** Removes the namespaces (and with them the veth pairs); safe to call twice. */
function removeNamespaces(): void {
  for (let i = 0; i < 3; i++) {
    try {
      ip('netns', 'del', netnsNames(i).ns);
    } catch {}
    try {
      ip('link', 'del', netnsNames(i).host);
    } catch {}
  }
}

/** Makes one namespace per region with a veth link to it; the netem delay on it when it can. Returns the network kind, or loopback when namespaces cannot be made. */
function makeNamespaces(): Network {
  removeNamespaces();
  try {
    for (let i = 0; i < 3; i++) {
      const n = netnsNames(i);
      ip('netns', 'add', n.ns);
      ip('link', 'add', n.host, 'type', 'veth', 'peer', 'name', n.peer);
      ip('link', 'set', n.peer, 'netns', n.ns);
      ip('addr', 'add', `${n.hostAddr}/30`, 'dev', n.host);
      ip('link', 'set', n.host, 'up');
      ip('netns', 'exec', n.ns, 'ip', 'addr', 'add', `${n.nsAddr}/30`, 'dev', n.peer);
      ip('netns', 'exec', n.ns, 'ip', 'link', 'set', n.peer, 'up');
      ip('netns', 'exec', n.ns, 'ip', 'link', 'set', 'lo', 'up');
    }
  } catch {
    removeNamespaces();
    return 'loopback';
  }
  process.once('exit', removeNamespaces);
  try {
    (Object.keys(DELAYS) as RegionName[]).forEach((name, i) => {
      execFileSync('tc', ['qdisc', 'add', 'dev', netnsNames(i).host, 'root', 'netem', 'delay', `${DELAYS[name]}ms`], {
        stdio: 'ignore',
      });
    });
    return 'netns+netem';
  } catch {
    // No sch_netem: the delay goes inside the origin.
    return 'netns';
  }
}

class NetnsRegion implements Region {
  private child: ChildProcess | null = null;
  readonly url: string;

  private constructor(
    private readonly name: RegionName,
    private readonly index: number,
    private readonly latencyMs: number,
  ) {
    this.url = `http://${netnsNames(index).nsAddr}:${ORIGIN_PORT}`;
  }

  static async start(name: RegionName, index: number, netem: boolean): Promise<NetnsRegion> {
    const region = new NetnsRegion(name, index, netem ? 0 : DELAYS[name]);
    await region.revive();
    return region;
  }

  revive(): Promise<void> {
    const n = netnsNames(this.index);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        n.ns,
        process.execPath,
        '--import',
        TS_LOADER,
        ORIGIN_SCRIPT,
        '--host',
        n.nsAddr,
        '--port',
        String(ORIGIN_PORT),
        '--region',
        this.name,
        '--latency',
        String(this.latencyMs),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.child = child;
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('ready ')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the ${this.name} origin exited (${code}) before it was ready`)));
    });
  }

  async setDown(down: DownMode | null): Promise<void> {
    const query =
      down === null
        ? null
        : down.mode === 'slow'
          ? `mode=slow&ms=${down.ms}`
          : down.mode === '503'
            ? `mode=503&retryAfter=${down.retryAfter}`
            : 'mode=refuse';
    const res = await fetch(`${this.url}/_demo/${query === null ? 'up' : `down?${query}`}`, { method: 'POST' });
    await res.arrayBuffer();
  }

  /** A crash: SIGKILL, the kernel closes its sockets and refuses new connections. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  cut(down: boolean): void {
    const n = netnsNames(this.index);
    ip('netns', 'exec', n.ns, 'ip', 'link', 'set', n.peer, down ? 'down' : 'up');
  }

  async close(): Promise<void> {
    try {
      this.cut(false);
    } catch {}
    await this.kill();
  }
}

async function runScenario(
  name: Scenario,
  hot: Awaited<ReturnType<typeof loadNodeHot>>,
  network: Network,
): Promise<{
  result: ScenarioResult;
  ewmaOrder: string[];
}> {
  const start = (r: RegionName, i: number): Promise<Region> =>
    network === 'loopback' ? LoopbackRegion.start(r) : NetnsRegion.start(r, i, network === 'netns+netem');
  const origins: Record<RegionName, Region> = {
    near: await start('near', 0),
    mid: await start('mid', 1),
    far: await start('far', 2),
  };
  const logs: Attempts[] = [];
  // When near's breaker opened, ms from the scenario's start (its transition log line).
  const nearOpened: number[] = [];
  let t0 = Date.now();
  const compiled = await compileConfig({
    origins: Object.fromEntries(
      (Object.keys(DELAYS) as RegionName[]).map((r) => [
        r,
        { url: origins[r].url, region: r, timeoutMs: 500, breaker: { failures: 5, openMs: 1000, jitter: 0.2 } },
      ]),
    ),
    pools: { world: { origins: ['far', 'mid', 'near'], defaultRegion: 'near' } },
    routes: [
      { id: 'api', match: { path: '/api/*' }, upstream: 'world' },
      // One route per region, to show the latency averages every region (the pool only sends
      // to the others on failover).
      ...(Object.keys(DELAYS) as RegionName[]).map((r) => ({ id: `direct-${r}`, match: { path: `/direct/${r}` }, upstream: r })),
    ],
  });
  const gw: NodeServer = await startNodeServer(compiled, {
    port: 0,
    hot,
    log: (r) => {
      if (r['msg'] === 'request' && Array.isArray(r['attempts']) && r['route'] === 'api') {
        // A line is written when its request ends; the switch is judged by when requests start.
        logs.push({ t: Date.now() - t0 - Number(r['ms'] ?? 0), attempts: r['attempts'] as Attempts['attempts'] });
      } else if (r['breaker'] === 'open' && r['origin'] === 'near') {
        nearOpened.push(Date.now() - t0);
      }
    },
  });
  const pool = new Pool(gw.url, { connections: CONCURRENCY });
  // Warm the latency averages of every region.
  for (let i = 0; i < 5; i++) {
    for (const r of Object.keys(DELAYS)) await (await pool.request({ path: `/direct/${r}`, method: 'GET' })).body.text();
  }
  const snap = gw.gateway.upstreams.snapshot();
  const ewmaOrder = Object.entries(snap)
    .filter(([n]) => n in DELAYS)
    .sort((a, b) => (a[1].ewmaMs ?? 1e9) - (b[1].ewmaMs ?? 1e9))
    .map(([n]) => n);

  const total = name === 'flap' ? 7000 : 8000;
  const faultAt = 1500;
  const restoreAt = name === 'flap' ? 5500 : 5000;
  const samples: Sample[] = [];
  t0 = Date.now();
  logs.length = 0;
  nearOpened.length = 0;
  let stop = false;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const at = (ms: number, f: () => void | Promise<void>): void => {
    timers.push(setTimeout(() => void f(), ms));
  };
  if (name === 'outage') {
    at(faultAt, () => origins.near.kill());
    at(restoreAt, () => origins.near.revive());
  } else if (name === 'blackhole') {
    at(faultAt, () => origins.near.cut?.(true));
    at(restoreAt, () => origins.near.cut?.(false));
  } else if (name === '503') {
    at(faultAt, () => origins.near.setDown({ mode: '503', retryAfter: 1 }));
    at(restoreAt, () => origins.near.setDown(null));
  } else if (name === 'slow') {
    at(faultAt, () => origins.near.setDown({ mode: 'slow', ms: 3000 }));
    at(restoreAt, () => origins.near.setDown(null));
  } else {
    for (let ms = faultAt, down = true; ms < restoreAt; ms += 400, down = !down) {
      const d = down;
      at(ms, () => origins.near.setDown(d ? { mode: 'refuse' } : null));
    }
    at(restoreAt, () => origins.near.setDown(null));
  }
  at(total, () => {
    stop = true;
  });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (!stop) {
        const start = Date.now();
        let status = 0;
        let region = '';
        try {
          const res = await pool.request({ path: '/api/items', method: 'GET', headersTimeout: 5000 });
          status = res.statusCode;
          region = String(res.headers['x-origin-region'] ?? '');
          await res.body.text();
        } catch {
          status = 0;
        }
        samples.push({ t: start - t0, ms: Date.now() - start, status, region });
      }
    }),
  );
  for (const t of timers) clearTimeout(t);
  await pool.close();
  await gw.drain();
  await Promise.all(Object.values(origins).map((o) => o.close().catch(() => {})));

  // The switch: the first request after the fault that passed near over without trying it.
  const skipped = logs.find(
    (l) =>
      l.t >= faultAt &&
      l.attempts[0]?.origin === 'near' &&
      (l.attempts[0]?.outcome === 'open' || l.attempts[0]?.outcome === 'shed'),
  );
  const firstElsewhere = logs.find((l) => l.t >= faultAt && l.attempts[0]?.origin !== 'near');
  const switched = [skipped, firstElsewhere].filter((l): l is Attempts => l !== undefined);
  const switchMs = switched.length ? Math.round(Math.min(...switched.map((l) => l.t)) - faultAt) : null;
  const probes = logs.filter(
    (l) =>
      l.t > faultAt + (switchMs ?? 0) &&
      l.t < restoreAt &&
      l.attempts.some((a) => a.origin === 'near' && a.outcome !== 'open' && a.outcome !== 'shed'),
  ).length;
  const switchAt = faultAt + (switchMs ?? 0);
  const during = samples.filter((s) => s.t >= faultAt && s.t <= switchAt).map((s) => s.ms);
  const after = samples.filter((s) => s.t > switchAt && s.t < restoreAt).map((s) => s.ms);
  const backAt = samples.find((s) => s.t >= restoreAt && s.region === 'near');
  const failed = samples.filter((s) => s.status < 200 || s.status >= 300).length;
  const retries = logs.filter((l) => l.attempts.filter((a) => a.outcome !== 'open' && a.outcome !== 'shed').length > 1).length;
  return {
    result: {
      name,
      faultAtMs: faultAt,
      restoreAtMs: restoreAt,
      requests: samples.length,
      failed,
      failedShare: samples.length ? failed / samples.length : 0,
      switchMs,
      breakerOpenMs: (() => {
        const at = nearOpened.find((t) => t >= faultAt);
        return at === undefined ? null : at - faultAt;
      })(),
      probes,
      duringP50: pct(during, 50),
      duringP99: pct(during, 99),
      afterP50: pct(after, 50),
      recoveryMs: backAt ? backAt.t - restoreAt : null,
      retries,
      samples,
    },
    ewmaOrder,
  };
}

function renderSvg(results: ScenarioResult[]): string {
  const W = 900;
  const H = 180;
  const pad = 40;
  const colors: Record<string, string> = { near: '#2b8a3e', mid: '#1971c2', far: '#9c36b5' };
  const parts: string[] = [];
  results.forEach((r, i) => {
    const y0 = i * (H + 30);
    const maxT = Math.max(...r.samples.map((s) => s.t), 1);
    const x = (t: number): number => pad + ((W - 2 * pad) * t) / maxT;
    // Log scale, 1 ms to 5 s.
    const y = (ms: number): number => y0 + H - ((H - 20) * Math.log10(Math.max(1, Math.min(ms, 5000)))) / Math.log10(5000);
    parts.push(
      `<text x="${pad}" y="${y0 + 14}" font-size="12">${r.name}: fault at ${r.faultAtMs} ms, restore at ${r.restoreAtMs} ms (latency, log scale; red = failed)</text>`,
    );
    parts.push(
      `<rect x="${x(r.faultAtMs)}" y="${y0 + 20}" width="${x(r.restoreAtMs) - x(r.faultAtMs)}" height="${H - 20}" fill="#fff3bf"/>`,
    );
    for (const s of r.samples) {
      const ok = s.status >= 200 && s.status < 300;
      parts.push(
        `<circle cx="${x(s.t).toFixed(1)}" cy="${y(s.ms).toFixed(1)}" r="1.5" fill="${ok ? (colors[s.region] ?? '#868e96') : '#e03131'}"/>`,
      );
    }
    for (const ms of [1, 10, 100, 1000]) parts.push(`<text x="2" y="${y(ms)}" font-size="9">${ms} ms</text>`);
  });
  const legend = Object.entries(colors)
    .map(
      ([k, c], i) =>
        `<circle cx="${pad + i * 90}" cy="${results.length * (H + 30) + 10}" r="4" fill="${c}"/><text x="${pad + 8 + i * 90}" y="${results.length * (H + 30) + 14}" font-size="11">${k} (${DELAYS[k as RegionName]} ms)</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${results.length * (H + 30) + 30}" font-family="sans-serif">${parts.join('')}${legend}</svg>\n`;
}

export async function cliMain(argv: string[]): Promise<void> {
  const outAt = argv.indexOf('--out');
  const outDir =
    outAt >= 0 && argv[outAt + 1] ? (argv[outAt + 1] as string) : fileURLToPath(new URL('./results/', import.meta.url));
  const delaysAt = argv.indexOf('--delays');
  if (delaysAt >= 0) {
    const given = (argv[delaysAt + 1] ?? '').split(',').map(Number);
    if (given.length !== 3 || given.some((d) => !Number.isInteger(d) || d < 0 || d > 10_000)) {
      throw new Error(
        `--delays: expected three whole milliseconds for near,mid,far (e.g. 5,80,200), got "${argv[delaysAt + 1] ?? ''}"`,
      );
    }
    [DELAYS.near, DELAYS.mid, DELAYS.far] = given as [number, number, number];
  }
  const network: Network = argv.includes('--loopback') ? 'loopback' : makeNamespaces();
  const hot = await loadNodeHot('wasm');
  const results: ScenarioResult[] = [];
  let ewmaOrder: string[] = [];
  const scenarios: Scenario[] = ['outage', '503', 'slow', 'flap', ...(network === 'loopback' ? [] : ['blackhole' as const])];
  for (const name of scenarios) {
    const r = await runScenario(name, hot, network);
    results.push(r.result);
    if (name === 'outage') ewmaOrder = r.ewmaOrder;
    process.stdout.write(
      `${name}: ${r.result.requests} requests, ${r.result.failed} failed, breaker open ${r.result.breakerOpenMs} ms, switch ${r.result.switchMs} ms, recovery ${r.result.recoveryMs} ms\n`,
    );
  }
  if (network !== 'loopback') removeNamespaces();
  const expectedOrder = (Object.keys(DELAYS) as RegionName[]).sort((a, b) => DELAYS[a] - DELAYS[b]);
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    regions:
      network === 'netns+netem'
        ? 'one network namespace per region (its own process, over a veth pair), delay by tc netem on the link'
        : network === 'netns'
          ? 'one network namespace per region (its own process, over a veth pair), delay inside the origin (tc netem is not available here)'
          : 'loopback ports in the benchmark process, delay inside the origin (no network namespaces)',
    delaysMs: DELAYS,
    concurrency: CONCURRENCY,
    ewmaOrder,
    ewmaOrderMatchesDelays: ewmaOrder.join() === expectedOrder.join(),
    scenarios: results.map(({ samples: _s, ...rest }) => rest),
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'failover.json'),
    JSON.stringify({ ...summary, samples: Object.fromEntries(results.map((r) => [r.name, r.samples])) }) + '\n',
  );
  const f = (v: number | null): string => (v === null ? '–' : String(v));
  const md = [
    '# portico bench failover',
    '',
    `${summary.date}, Node ${summary.node}, one run on a shared machine (${os.availableParallelism()} cores).`,
    `Regions: ${summary.regions}; delays near ${DELAYS.near} ms, mid ${DELAYS.mid} ms, far ${DELAYS.far} ms; ${CONCURRENCY} closed-loop clients; the client region is near.`,
    `Breaker: 5 consecutive failures, open 1000 ms ±20%, 1 half-open probe; per-try timeout 500 ms; default retries (3 tries, budget 20% + 3/s).`,
    '',
    `Latency averages order the regions ${ewmaOrder.join(' < ')} (delays: ${expectedOrder.join(' < ')}): ${summary.ewmaOrderMatchesDelays ? 'match' : 'DO NOT match'}.`,
    '',
    `| scenario | requests | failed | failed share | near's breaker opens (ms) | first request to skip near starts (ms) | p50 / p99 meanwhile (ms) | p50 after (ms) | tries of near while down | near serves again after restore (ms) | retried requests |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.requests} | ${r.failed} | ${(r.failedShare * 100).toFixed(2)}% | ${f(r.breakerOpenMs)} | ${f(r.switchMs)} | ${f(r.duringP50)} / ${f(r.duringP99)} | ${f(r.afterP50)} | ${r.probes} | ${f(r.recoveryMs)} | ${r.retries} |`,
    ),
    '',
    `"Near's breaker opens": from the fault to near's breaker transition (none when a Retry-After, not failures, takes near out). "First request to skip near starts": from the fault to the start of the first request that passed near over (its breaker open, or its Retry-After); with ${CONCURRENCY} closed-loop clients it cannot be earlier than the end of the requests in flight at the fault, which fail over to mid; "tries of near while down": the half-open probes and panic tries after that. For \`flap\`, near comes back through half-open between its outages. Timeline: failover.svg.`,
    '',
  ].join('\n');
  writeFileSync(join(outDir, 'failover.md'), md);
  writeFileSync(join(outDir, 'failover.svg'), renderSvg(results));
  process.stdout.write(md);
}

if (import.meta.url === `file://${process.argv[1]}`) await cliMain(process.argv.slice(2));
