/**
 * Turns the runs into the published results: medians across runs, the ratio of every cell to
 * the fastest JS peer of its column, the goals, and three renderings (Markdown, JSON, SVG).
 */
import type { ContestantFamily, UnavailableContestant } from './_contestants.ts';
import { CASE_IDS, type CaseId } from './_tables.ts';
import { MODES, type Mode } from './_timing.ts';

export type CellStatus = 'timed' | 'wrong' | 'skipped' | 'unavailable';

export interface CellResult {
  table: string;
  case: CaseId;
  mode: Mode;
  contestant: string;
  status: CellStatus;
  /** Nanoseconds per call in each run (mitata's median sample of that run). */
  runs: number[];
  /** Median of `runs`, in nanoseconds per call. */
  median: number | null;
  /** Median over runs of this cell's time over the fastest JS peer's time in the same column and run. */
  ratio: number | null;
  /** Why the cell has no time (skip reason, check failure, load error). */
  note?: string;
}

export interface GoalResult {
  goal: string;
  value: string;
  /**
   * The copy-in floor's ratio in the same cell: what the Wasm wrapper costs before the module
   * matches anything. A goal below it cannot be met by any matcher behind this wrapper.
   */
  floor: string;
  met: boolean | null;
}

export interface MatcherBenchResult {
  date: string;
  machine: { nproc: number; cpu: string; node: string; platform: string };
  /** The portico commit measured, `+dirty` when core/hot or wasm/assembly had uncommitted changes. */
  commit: string;
  packages: Record<string, string>;
  settings: { runs: number; quick: boolean; minCpuTimeMs: number; urlCount: number; isolated: boolean };
  tables: {
    id: string;
    title: string;
    source: string;
    routes: number;
    hosts: boolean;
    cases: { id: CaseId; request: string }[];
  }[];
  contestants: { id: string; label: string; family: ContestantFamily; hostRouting: boolean }[];
  unavailable: UnavailableContestant[];
  checks: { contestant: string; table: string; checked: number; failures: number; examples: string[] }[];
  cells: CellResult[];
  /**
   * Per run: the Wasm matcher's `mixed` time (mode 2) on the multi-tenant table over its time on
   * the GitHub table, both measured back to back in one process (see ownRatio in matcher.ts).
   */
  ownRatioRuns?: number[];
  goals: GoalResult[];
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Fills `median` and `ratio` of every timed cell. The ratio is taken within each run (the
 * cell over the fastest JS peer of its column in that same process, measured seconds apart),
 * then the median over runs: on a shared machine that cancels most of the load that moves a
 * whole run up or down.
 */
export function computeRatios(result: MatcherBenchResult): void {
  const family = new Map(result.contestants.map((c) => [c.id, c.family]));
  for (const cell of result.cells) cell.median = cell.status === 'timed' ? median(cell.runs) : null;
  for (const cell of result.cells) {
    if (cell.median === null) continue;
    const peers = result.cells.filter(
      (c) =>
        c.table === cell.table &&
        c.case === cell.case &&
        c.mode === cell.mode &&
        family.get(c.contestant) === 'js' &&
        c.status === 'timed',
    );
    const perRun: number[] = [];
    cell.runs.forEach((ns, run) => {
      const fastest = Math.min(...peers.map((p) => p.runs[run] ?? Infinity));
      if (Number.isFinite(fastest)) perRun.push(ns / fastest);
    });
    cell.ratio = median(perRun);
  }
}

function cellOf(
  result: MatcherBenchResult,
  table: string,
  caseId: CaseId,
  mode: Mode,
  contestant: string,
): CellResult | undefined {
  return result.cells.find((c) => c.table === table && c.case === caseId && c.mode === mode && c.contestant === contestant);
}

/**
 * The goals of the issue, on the `sliced` mode and the best Wasm build this engine runs: the
 * js-string build (paths read in place) where it was timed, else the plain Wasm build.
 */
export function evaluateGoals(result: MatcherBenchResult): GoalResult[] {
  const best = result.cells.some((c) => c.contestant === 'wasm-js-string' && c.status === 'timed') ? 'wasm-js-string' : 'wasm';
  const name = best === 'wasm' ? 'Wasm' : 'Wasm in place';
  const wasm = (table: string, caseId: CaseId): CellResult | undefined => cellOf(result, table, caseId, 'sliced', best);
  const fmt = (x: number | null | undefined): string => (x == null ? 'n/a' : `${x.toFixed(2)}×`);
  const goals: GoalResult[] = [];
  const ratioGoal = (goal: string, table: string, caseId: CaseId, target: number): void => {
    const cell = wasm(table, caseId);
    const floor = cellOf(result, table, caseId, 'sliced', 'copy-floor');
    goals.push({
      goal,
      value: fmt(cell?.ratio),
      floor: fmt(floor?.ratio),
      met: cell?.ratio == null ? null : cell.ratio <= target,
    });
  };
  ratioGoal(`GitHub table, mixed requests: ${name} ≤ 0.5× the fastest JS peer`, 'github', 'mixed', 0.5);
  for (const table of result.tables) {
    for (const c of table.cases) {
      if (c.request.startsWith('skipped')) continue;
      ratioGoal(
        `${table.title}, ${CASE_TITLES[c.id as CaseId]}: ${name} ≤ 1.0× the fastest JS peer`,
        table.id,
        c.id as CaseId,
        1.0,
      );
    }
  }
  const gh = wasm('github', 'mixed');
  const mt = wasm('multitenant', 'mixed');
  ratioGoal(`Multi-tenant 10k table, mixed requests: ${name} ≤ 0.3× the fastest JS peer`, 'multitenant', 'mixed', 0.3);
  const sameProcess = result.ownRatioRuns ?? [];
  const own =
    sameProcess.length > 0 ? median(sameProcess) : mt?.median != null && gh?.median != null ? mt.median / gh.median : null;
  goals.push({
    goal:
      sameProcess.length > 0
        ? `Multi-tenant 10k table, mixed requests: Wasm ≤ 1.3× its own time on the 203-route GitHub table (both timed in one process, median of ${sameProcess.length} run(s))`
        : 'Multi-tenant 10k table, mixed requests: Wasm ≤ 1.3× its own time on the 203-route GitHub table (medians of separate processes)',
    value: fmt(own),
    floor: 'n/a',
    met: own === null ? null : own <= 1.3,
  });
  return goals;
}

function formatNs(ns: number): string {
  if (ns >= 10_000) return `${(ns / 1000).toFixed(1)} µs`;
  if (ns >= 1000) return `${(ns / 1000).toFixed(2)} µs`;
  return `${ns.toFixed(ns >= 100 ? 0 : 1)} ns`;
}

const CASE_TITLES: Record<CaseId, string> = {
  static: 'static',
  param1: '1 param',
  param3: '3 params',
  wildcard: 'wildcard',
  notFound: '404',
  mixed: 'mixed',
};

const MODE_TITLES: Record<Mode, string> = {
  sliced: 'Mode 2 (counts): a new path string every call, sliced from a distinct URL',
  fixed: 'Mode 1: the same path string every call',
};

/** The Markdown report: settings, checks, one table per (mode, route table), goals. */
export function renderMarkdown(result: MatcherBenchResult): string {
  const lines: string[] = ['# Matcher benchmark results', ''];
  lines.push(...renderPreamble(result));
  for (const mode of MODES) {
    lines.push(`## ${MODE_TITLES[mode]}`, '');
    lines.push(...renderModeTables(result, mode, '###'));
  }
  lines.push('## Requests', '');
  for (const table of result.tables) {
    lines.push(
      `- ${table.title} (${table.source}): ` + table.cases.map((c) => `${CASE_TITLES[c.id]} \`${c.request}\``).join('; '),
    );
  }
  lines.push('');
  lines.push('## Goals (mode 2, portico Wasm)', '');
  lines.push(...renderGoals(result));
  return lines.join('\n');
}

/**
 * The results section of bench/README.md: machine, mode-2 tables, goals, and pointers to the
 * full report. Written between `<!-- results:start -->` and `<!-- results:end -->`.
 */
export function renderReadmeResults(result: MatcherBenchResult): string {
  const lines: string[] = [];
  lines.push(...renderPreamble(result));
  lines.push('![mode 2 ratios to the fastest JS peer](results/matcher.svg)', '');
  lines.push(`#### ${MODE_TITLES.sliced}`, '');
  lines.push(...renderModeTables(result, 'sliced', '#####'));
  lines.push('#### Goals (mode 2, portico Wasm)', '');
  lines.push(...renderGoals(result));
  lines.push(
    'Mode 1 and the exact requests: [results/matcher.md](results/matcher.md); every number, per run: [results/matcher.json](results/matcher.json).',
    '',
  );
  return lines.join('\n');
}

function renderPreamble(result: MatcherBenchResult): string[] {
  const lines: string[] = [];
  const m = result.machine;
  lines.push(
    `${result.date} · ${m.cpu} · ${m.nproc} cores · Node ${m.node} · ${result.settings.runs} run(s)` +
      `${result.settings.isolated ? ', a Node process per run and table' : ', in-process'}` +
      ` · portico ${result.commit} · ≥${result.settings.minCpuTimeMs} ms of samples per cell${result.settings.quick ? ' · QUICK (smoke) mode: not for publishing' : ''}`,
    '',
  );
  lines.push(
    'Each cell: median over runs of the per-run median time per lookup; in parentheses, the median over runs of the ' +
      'ratio to the fastest JS peer of that column in the same run (below 1.00× is faster than every JS peer; ' +
      '**bold** = the JS peer with the lowest ratio).',
    '',
  );
  lines.push(
    'The last row, the harness floor, is the timed function with the lookup taken out: what picking the request and, ' +
      'in mode 2, slicing it out of its URL cost per call. It is part of every cell of its column; it is not a router. ' +
      'The row above it, the portico copy-in floor, is the portico Wasm row with the lookup taken out: the harness, ' +
      "the method's bit, the host check and the path written into the module's memory, and one empty call into the " +
      'module. It is not a router either: it is the least any matcher behind this wrapper can cost.',
    '',
  );
  lines.push(
    'Packages: ' +
      Object.entries(result.packages)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    '',
  );
  const failed = result.checks.filter((c) => c.failures > 0);
  const total = result.checks.reduce((a, c) => a + c.checked, 0);
  lines.push(
    `Correctness: ${total.toLocaleString('en-US')} answers checked against the oracle before timing ` +
      `(route, params, rest); ${failed.length === 0 ? 'all correct.' : `${failed.length} contestant/table pair(s) wrong, not timed:`}`,
  );
  for (const f of failed)
    lines.push(`- ${f.contestant} on ${f.table}: ${f.failures} wrong answer(s), e.g. ${f.examples[0] ?? ''}`);
  for (const u of result.unavailable) lines.push(`- ${u.label} not run: ${u.reason}`);
  lines.push('');
  return lines;
}

function renderModeTables(result: MatcherBenchResult, mode: Mode, heading: string): string[] {
  const lines: string[] = [];
  const jsIds = new Set(result.contestants.filter((c) => c.family === 'js').map((c) => c.id));
  for (const table of result.tables) {
    lines.push(`${heading} ${table.title}`, '');
    const cases = CASE_IDS;
    lines.push(`| router | ${cases.map((c) => CASE_TITLES[c]).join(' | ')} |`);
    lines.push(`| --- | ${cases.map(() => '---:').join(' | ')} |`);
    for (const c of result.contestants) {
      const cells = cases.map((caseId) => {
        const cell = cellOf(result, table.id, caseId, mode, c.id);
        if (!cell) return '';
        if (cell.status === 'skipped') return 'skipped¹';
        if (cell.status === 'wrong') return '✗ wrong answer';
        if (cell.status === 'unavailable') return 'n/a';
        if (cell.median === null) return '';
        const ratio = cell.ratio === null ? '' : ` (${cell.ratio.toFixed(2)}×)`;
        const text = `${formatNs(cell.median)}${ratio}`;
        const best = Math.min(
          ...result.cells
            .filter(
              (x) => x.table === table.id && x.case === caseId && x.mode === mode && x.ratio !== null && jsIds.has(x.contestant),
            )
            .map((x) => x.ratio!),
        );
        return jsIds.has(c.id) && cell.ratio === best ? `**${text}**` : text;
      });
      lines.push(`| ${c.label} | ${cells.join(' | ')} |`);
    }
    lines.push('');
    const skips = table.cases.filter((c) => c.request.startsWith('skipped:'));
    for (const s of skips) lines.push(`¹ ${CASE_TITLES[s.id]}: ${s.request.slice('skipped: '.length)}`);
    if (skips.length) lines.push('');
  }
  return lines;
}

function renderGoals(result: MatcherBenchResult): string[] {
  const lines = ['| goal | measured | copy-in floor alone | met |', '| --- | ---: | ---: | :---: |'];
  for (const g of result.goals) {
    lines.push(`| ${g.goal} | ${g.value} | ${g.floor} | ${g.met === null ? 'n/a' : g.met ? 'yes' : 'no'} |`);
  }
  lines.push(
    '',
    'The copy-in floor is the Wasm wrapper with the lookup taken out (method bit, host check, path written into ' +
      'linear memory, one empty export call), timed like a router in the same runs. No matcher behind that wrapper ' +
      'can go below it.',
    '',
  );
  return lines;
}

const COLORS: Record<string, string> = {
  wasm: '#d62728',
  wasm2js: '#ff7f0e',
  twin: '#8c564b',
  'hono-regexp': '#1f77b4',
  'hono-trie': '#6baed6',
  'hono-smart': '#9467bd',
  'find-my-way': '#2ca02c',
  rou3: '#17becf',
  'rou3-compiled': '#0b6e79',
  memoirist: '#7f7f7f',
};

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A dot plot of mode 2: one row per (table, case), one dot per contestant at its ratio to the
 * fastest JS peer, on a log axis (1× is the fastest JS peer; left of it is faster).
 */
export function renderSvg(result: MatcherBenchResult): string {
  const rows: { label: string; table: string; caseId: CaseId; header?: string }[] = [];
  for (const table of result.tables) {
    rows.push({ label: '', table: table.id, caseId: 'static', header: table.title });
    for (const caseId of CASE_IDS) {
      const any = result.cells.some((c) => c.table === table.id && c.case === caseId && c.mode === 'sliced' && c.ratio !== null);
      if (any) rows.push({ label: CASE_TITLES[caseId], table: table.id, caseId });
    }
  }
  const ratios = result.cells.filter((c) => c.mode === 'sliced' && c.ratio !== null).map((c) => c.ratio!);
  const lo = 10 ** Math.floor(Math.log10(Math.min(0.1, ...ratios)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(10, ...ratios)));
  const left = 200,
    right = 110,
    top = 70,
    rowH = 24,
    width = 980;
  const plotW = width - left - right;
  const legendH = 28 * Math.ceil(result.contestants.filter((c) => c.family !== 'floor').length / 5);
  const height = top + rows.length * rowH + 40 + legendH;
  const x = (r: number): number => left + ((Math.log10(r) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(
    `<text x="16" y="24" font-size="15" font-weight="600">portico matcher vs JS routers: time per lookup relative to the fastest JS peer</text>`,
  );
  out.push(
    `<text x="16" y="42" fill="#555">Mode 2 (a new path string every call). Log scale; 1× = fastest JS peer of the row; left is faster. ${escapeXml(result.machine.cpu)}, Node ${result.machine.node}, median of ${result.settings.runs} run(s).</text>`,
  );
  const plotBottom = top + rows.length * rowH;
  rows.forEach((row, i) => {
    if (!row.header && i % 2 === 0)
      out.push(`<rect x="0" y="${top + i * rowH}" width="${width}" height="${rowH}" fill="#f5f5f5"/>`);
  });
  out.push(`<text x="${width - right + 12}" y="${top - 10}" font-weight="600">Wasm</text>`);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    for (const k of [1, 2, 5]) {
      const v = d * k;
      if (v > hi * 1.0001) break;
      const xv = x(v).toFixed(1);
      out.push(`<line x1="${xv}" y1="${top - 6}" x2="${xv}" y2="${plotBottom}" stroke="${k === 1 ? '#ccc' : '#eee'}"/>`);
      out.push(
        `<text x="${xv}" y="${plotBottom + 16}" text-anchor="middle" fill="#555">${v >= 1 ? v : v.toPrecision(1)}×</text>`,
      );
    }
  }
  out.push(
    `<line x1="${x(1).toFixed(1)}" y1="${top - 6}" x2="${x(1).toFixed(1)}" y2="${plotBottom}" stroke="#333" stroke-dasharray="4 3"/>`,
  );
  rows.forEach((row, i) => {
    const y = top + i * rowH + rowH / 2;
    if (row.header) {
      out.push(`<text x="8" y="${y + 4}" font-weight="600">${escapeXml(row.header)}</text>`);
      return;
    }
    const wasm = cellOf(result, row.table, row.caseId, 'sliced', 'wasm');
    if (wasm?.ratio != null) out.push(`<text x="${width - right + 12}" y="${y + 4}">${wasm.ratio.toFixed(2)}×</text>`);
    out.push(`<text x="${left - 10}" y="${y + 4}" text-anchor="end">${escapeXml(row.label)}</text>`);
    for (const c of result.contestants) {
      if (c.family === 'floor') continue;
      const cell = cellOf(result, row.table, row.caseId, 'sliced', c.id);
      if (!cell || cell.ratio === null) continue;
      const cx = x(cell.ratio).toFixed(1);
      const color = COLORS[c.id] ?? '#000';
      const title = `<title>${escapeXml(c.label)}: ${formatNs(cell.median!)} (${cell.ratio.toFixed(2)}×)</title>`;
      if (c.family === 'portico') {
        out.push(
          `<path d="M${cx} ${y - 7} L${(+cx + 7).toFixed(1)} ${y} L${cx} ${y + 7} L${(+cx - 7).toFixed(1)} ${y} Z" fill="${color}" stroke="#fff">${title}</path>`,
        );
      } else {
        out.push(`<circle cx="${cx}" cy="${y}" r="5" fill="${color}" fill-opacity="0.85" stroke="#fff">${title}</circle>`);
      }
    }
  });
  result.contestants
    .filter((c) => c.family !== 'floor')
    .forEach((c, i) => {
      const lx = left + (i % 5) * 140;
      const ly = plotBottom + 40 + Math.floor(i / 5) * 24;
      const color = COLORS[c.id] ?? '#000';
      out.push(
        c.family === 'portico'
          ? `<path d="M${lx} ${ly - 6} L${lx + 6} ${ly} L${lx} ${ly + 6} L${lx - 6} ${ly} Z" fill="${color}"/>`
          : `<circle cx="${lx}" cy="${ly}" r="5" fill="${color}"/>`,
      );
      out.push(`<text x="${lx + 10}" y="${ly + 4}">${escapeXml(c.label)}</text>`);
    });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
