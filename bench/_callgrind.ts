/**
 * Counting a server's instructions with valgrind's callgrind (Debian `valgrind`): the benchmarks'
 * way of comparing two per-request paths on a shared machine, where rates move by ±20% with
 * whatever else runs and an instruction count does not. The server runs under callgrind; the
 * caller zeroes its counters, sends a block of requests, and dumps; each dump's total divided by
 * its requests is that block's cost. User-space instructions only: the kernel's socket work is
 * not in them (the same for every path of one server).
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The command that runs a Node under callgrind, its dumps written to `dir` as out.<pid>.<n>.
 * `cacheSim`: callgrind also simulates the caches (first level and last level, sized like this
 * machine's), for dumpTotals' `cycles` (slower again, by about two).
 */
export function callgrindWrapper(dir: string, options: { cacheSim?: boolean } = {}): string[] {
  return [
    'valgrind',
    '-q',
    '--tool=callgrind',
    ...(options.cacheSim ? ['--cache-sim=yes'] : []),
    // V8 writes and rewrites its machine code: valgrind must notice code that changes.
    '--smc-check=all-non-file',
    `--callgrind-out-file=${join(dir, 'out.%p')}`,
  ];
}

function control(flag: '-z' | '-d', pid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('callgrind_control', [flag, String(pid)], (err, _out, stderr) =>
      err ? reject(new Error(`callgrind_control ${flag} ${pid}: ${stderr || err.message}`)) : resolve(),
    );
  });
}

/** Zeroes the counters of the process `pid` runs under callgrind. */
export const zeroCounts = (pid: number): Promise<void> => control('-z', pid);
/** Writes the next dump of `pid` (its counts since the last zero or dump) into its directory. */
export const dumpCounts = (pid: number): Promise<void> => control('-d', pid);

/**
 * The total of each dump in `dir`, in the order they were written: instructions, or with
 * `cycles` (dumps of a `cacheSim` run) an estimate of the cycles that counts what the memory
 * costs as well: instructions + 10 a first-level miss + 100 a last-level miss (instruction and
 * data, reads and writes), the weights callgrind's documentation gives for its own estimate.
 * Instructions alone miss what a large table costs: a lookup that misses every cache runs as
 * many instructions as one that hits.
 */
export function dumpTotals(dir: string, measure: 'instructions' | 'cycles' = 'instructions'): number[] {
  return readdirSync(dir)
    .map((f) => /^out\.\d+\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => {
      const text = readFileSync(join(dir, m[0]), 'utf8');
      const summary = /^summary: ([\d ]+)$/m.exec(text);
      if (!summary) throw new Error(`no summary line in ${m[0]}`);
      const values = (summary[1] as string).trim().split(/\s+/).map(Number);
      if (measure === 'instructions') return values[0] as number;
      const events = (/^events: (.+)$/m.exec(text)?.[1] ?? '').trim().split(/\s+/);
      const at = (name: string): number => {
        const i = events.indexOf(name);
        if (i < 0) throw new Error(`${m[0]} has no ${name} count: run callgrind with cacheSim`);
        return values[i] as number;
      };
      const firstLevel = at('I1mr') + at('D1mr') + at('D1mw');
      const lastLevel = at('ILmr') + at('DLmr') + at('DLmw');
      return at('Ir') + 10 * firstLevel + 100 * lastLevel;
    });
}

/**
 * V8's runtime function for an object literal's property that its inline cache could not define:
 * a property after a spread or with a computed key, once that cache went megamorphic. Under
 * callgrind, some Node 24 processes (3 of 8 here) ran every `process.nextTick` that way (its tick
 * object is such a literal, with about six ticks a forwarded request), some 32 k instructions a
 * request, 10-12% of a forwarded GET; processes run without valgrind did not (bench/README.md).
 */
const SLOW_LITERAL = 'Runtime_DefineKeyedOwnPropertyInLiteral';

/**
 * The share of each dump's instructions (inclusive) spent in SLOW_LITERAL, from
 * `callgrind_annotate`: a count from a process in that state is not like for like with one that
 * is not.
 */
export function slowLiteralShares(dir: string): number[] {
  return readdirSync(dir)
    .map((f) => /^out\.\d+\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => {
      const out = execFileSync('callgrind_annotate', ['--inclusive=yes', '--show=Ir', '--threshold=100', join(dir, m[0])], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      const total = /^\s*([\d,]+) \S*\s*PROGRAM TOTALS/m.exec(out)?.[1];
      const slow = new RegExp(`^\\s*([\\d,]+) .*${SLOW_LITERAL}`, 'm').exec(out)?.[1];
      const n = (t: string | undefined) => Number((t ?? '0').replaceAll(',', ''));
      return n(total) > 0 ? n(slow) / n(total) : 0;
    });
}

/** A line naming the blocks whose process ran in the slow-literal state (see SLOW_LITERAL), or ''. */
export function slowLiteralNote(name: string, shares: number[]): string {
  const slow = shares.map((s, i) => [s, i + 1] as const).filter(([s]) => s >= 0.01);
  if (slow.length === 0) return '';
  return `${name}: ${slow.map(([s, b]) => `block ${b} ${(100 * s).toFixed(1)}%`).join(', ')} of its instructions in V8's ${SLOW_LITERAL} (a megamorphic object-literal cache, Node's nextTick among them): this process's count is not like for like; run the pair again\n`;
}
