/**
 * The timed loops. Each cell (table × case × mode × contestant) gets its own generated function
 * (`new Function`), so V8 keeps separate type feedback per cell and no contestant is slowed by
 * another's shapes at a shared call site. mitata's `measure` runs it and we keep its median.
 *
 * Modes:
 * - `fixed`: the same path string every call (what most router benchmarks time);
 * - `sliced`: a new path string every call, sliced out of a distinct URL string
 *   (`http://host/path?x=N`, URL_COUNT of them) with indexOf + slice, as a server does. This is
 *   the mode that counts. Every contestant makes exactly one slice per call: the JS peers slice
 *   the path (or, on the multi-tenant table, `/host/path`, which is one slice of the same URL);
 *   portico slices the path and gets the host as its own string, made once per URL before
 *   timing, the way a server has the Host header as a string of its own.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { measure } from 'mitata';
import type { BuiltRouter, Contestant } from './_contestants.ts';
import { mixedCases, type CaseId, type RequestCase, type RouteTable } from './_tables.ts';

export const MODES = ['sliced', 'fixed'] as const;
export type Mode = (typeof MODES)[number];

/** Distinct URL strings per cell in `sliced` mode. */
export const URL_COUNT = 1000;

export interface TimingOptions {
  /** mitata's minimum sampling time per cell, in milliseconds. */
  minCpuTimeMs: number;
  /**
   * Warmup before mitata starts: at least this many milliseconds, then until the time per call
   * stops improving (see `warmUp`), at most WARMUP_MAX_MS.
   */
  warmupMs: number;
  /**
   * Time with a plain loop instead of mitata (smoke mode: mitata costs about 50 ms per cell
   * whatever the sampling time, for its 2^20-entry sample array).
   */
  plainLoop: boolean;
}

const headerDecoder = new TextDecoder();
const headerEncoder = new TextEncoder();

/**
 * The host as a server hands it over: a string of its own, decoded from the request's bytes
 * (what Node's HTTP parser, Deno and workerd do for a header value), so a flat string and not a
 * slice of the URL. One per URL, made before timing.
 */
export function asHeaderString(host: string): string {
  return headerDecoder.decode(headerEncoder.encode(host));
}

/** The requests a cell cycles through (one, or all of them for `mixed`). */
function cellRequests(table: RouteTable, caseId: CaseId): RequestCase[] {
  if (caseId === 'mixed') return mixedCases(table);
  const c = table.cases.find((x) => x.id === caseId);
  if (!c || 'skip' in c) throw new Error(`${table.id}: case ${caseId} is skipped`);
  return [c];
}

/** The generated function for one cell: each call looks up one request. */
export function timedFunction(
  contestant: Contestant,
  built: BuiltRouter,
  table: RouteTable,
  caseId: CaseId,
  mode: Mode,
): () => unknown {
  const requests = cellRequests(table, caseId);
  const folded = table.hosts && !contestant.hostRouting;
  const expr = built.call.expr;
  if (mode === 'fixed') {
    const ms = requests.map((r) => r.method);
    const hs = requests.map((r) => (contestant.hostRouting ? r.host : ''));
    const ps = requests.map((r) => (folded ? `/${r.host}${r.path}` : r.path));
    const body =
      requests.length === 1
        ? `const M = ms[0], H = hs[0], P = ps[0];
           return function timed() { return ${expr}; };`
        : `const n = ms.length; let i = 0;
           return function timed() {
             const k = i; i = k + 1 === n ? 0 : k + 1;
             const M = ms[k], H = hs[k], P = ps[k];
             return ${expr};
           };`;
    return new Function('self', 'fn', 'ms', 'hs', 'ps', body)(built.call.self, built.call.fn, ms, hs, ps) as () => unknown;
  }
  const urls: string[] = [];
  const ms: string[] = [];
  const hs: string[] = [];
  for (let k = 0; k < URL_COUNT; k++) {
    const r = requests[k % requests.length]!;
    const url = `http://${r.host}${r.path}?x=${k}`;
    urls.push(url);
    ms.push(r.method);
    hs.push(asHeaderString(r.host));
  }
  // 8 = just past "http://h": the first "/" after the host.
  const slice = folded
    ? `const q = u.indexOf('?', 8); const H = ''; const P = u.slice(6, q);`
    : contestant.hostRouting
      ? `const s = u.indexOf('/', 8); const q = u.indexOf('?', s); const H = hs[k]; const P = u.slice(s, q);`
      : `const s = u.indexOf('/', 8); const q = u.indexOf('?', s); const H = ''; const P = u.slice(s, q);`;
  const body = `const n = urls.length; let i = 0;
    return function timed() {
      const k = i; i = k + 1 === n ? 0 : k + 1;
      const u = urls[k]; const M = ms[k];
      ${slice}
      return ${expr};
    };`;
  return new Function('self', 'fn', 'urls', 'ms', 'hs', body)(built.call.self, built.call.fn, urls, ms, hs) as () => unknown;
}

/**
 * The collector, from `--expose-gc` when given, else by turning the flag on at run time.
 * Measurements start from a collected heap: without it, V8's concurrent marking of earlier
 * cells' garbage (mitata alone leaves an 8 MB sample array per cell) runs during the next
 * measurement and slowed it by up to 10× on 2 cores.
 */
function exposedGc(): (options?: { type: 'major' | 'minor' }) => void {
  const existing = (globalThis as { gc?: (options?: { type: 'major' | 'minor' }) => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as (options?: { type: 'major' | 'minor' }) => void;
}

let collector: ReturnType<typeof exposedGc> | undefined;

/**
 * Collects garbage: `major` before each column (one case and mode, every contestant), `minor`
 * before each cell. A major collection per cell gave the same numbers at twice the wall time
 * (about 170 ms each with ten 10,000-route routers in the heap).
 */
export function collectGarbage(type: 'major' | 'minor'): void {
  collector ??= exposedGc();
  collector({ type });
}

/** Calls per iteration of mitata's batch loop (its default). */
const BATCH_UNROLL = 4;
/** Upper bound of one cell's warmup, in milliseconds. */
const WARMUP_MAX_MS = 400;
/** Length of one warmup chunk, in milliseconds. */
const WARMUP_CHUNK_MS = 4;

/**
 * Runs `fn` until V8 has tiered it up: chunks of about 4 ms, until four chunks in a row bring no
 * gain over 3% on the best time per call so far. mitata's own warmup is a few calls, and a fixed
 * warmup is not enough here: on this 2-core machine under load, optimized code for a router
 * arrived only after 50 to 100 ms, and a cell measured before it read up to 3× slow.
 * @returns the best time per call seen, in milliseconds.
 */
function warmUp(fn: () => unknown, minMs: number): number {
  const start = performance.now();
  let best = Infinity;
  let flat = 0;
  let batch = 16;
  while (true) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    const t1 = performance.now();
    const perCall = (t1 - t0) / batch;
    if (t1 - t0 < WARMUP_CHUNK_MS / 2) {
      batch *= 2;
      continue;
    }
    if (perCall < best * 0.97) {
      best = perCall;
      flat = 0;
    } else {
      flat++;
    }
    const elapsed = t1 - start;
    if ((flat >= 4 && elapsed >= minMs) || elapsed >= WARMUP_MAX_MS) return best;
  }
}

/** How long each contestant runs the mixed requests before its first timed cell, in ms. */
const PREWARM_MS = 150;

/**
 * Runs a contestant's lookup over the table's mixed requests (both modes) before any of its
 * cells is timed. Without it, whichever column is timed first for a contestant pays for V8
 * tiering its code up: the first timed function gets optimized while the router's own
 * functions still have thin type feedback, and that code is stable (nothing deoptimizes it)
 * but slow. portico's static column, timed first, read 100–145 ns that way and 58–62 ns when
 * timed again in the same process. Every contestant gets the same pre-warm.
 */
export function prewarm(contestant: Contestant, built: BuiltRouter, table: RouteTable): void {
  const caseId: CaseId = table.cases.some((c) => c.id === 'mixed' && !('skip' in c)) ? 'mixed' : 'static';
  for (const mode of MODES) {
    const fn = timedFunction(contestant, built, table, caseId, mode);
    const until = performance.now() + PREWARM_MS / MODES.length;
    do {
      for (let i = 0; i < 256; i++) fn();
    } while (performance.now() < until);
  }
}

/** Median nanoseconds per call of one cell. */
export async function timeCell(fn: () => unknown, options: TimingOptions): Promise<number> {
  collectGarbage('minor');
  let perCallMs = 0;
  if (options.plainLoop) {
    const until = performance.now() + options.warmupMs;
    for (let i = 0; i < 100 || performance.now() < until; i++) fn();
  } else {
    perCallMs = warmUp(fn, options.warmupMs);
  }
  if (options.plainLoop) {
    const start = performance.now();
    const end = start + options.minCpuTimeMs;
    let calls = 0;
    do {
      for (let i = 0; i < 64; i++) fn();
      calls += 64;
    } while (performance.now() < end);
    return ((performance.now() - start) * 1e6) / calls;
  }
  // mitata batches every function under 65 µs a call into samples of 4,096 calls: 0.25 s a
  // sample for Hono's RegExpRouter on 10,000 routes. Aim at about 1 ms a sample instead.
  const batch = Math.max(BATCH_UNROLL, Math.min(4096, Math.round(1 / perCallMs / BATCH_UNROLL) * BATCH_UNROLL));
  const stats = await measure(fn, {
    gc: false,
    batch_samples: batch,
    batch_unroll: BATCH_UNROLL,
    min_cpu_time: options.minCpuTimeMs * 1e6,
    min_samples: 12,
  });
  return stats.p50;
}
