/**
 * Counting a server's instructions with valgrind's callgrind (Debian `valgrind`): the benchmarks'
 * way of comparing two per-request paths on a shared machine, where rates move by ±20% with
 * whatever else runs and an instruction count does not. The server runs under callgrind; the
 * caller zeroes its counters, sends a block of requests, and dumps; each dump's total divided by
 * its requests is that block's cost. User-space instructions only: the kernel's socket work is
 * not in them (the same for every path of one server).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The command that runs a Node under callgrind, its dumps written to `dir` as out.<pid>.<n>. */
export function callgrindWrapper(dir: string): string[] {
  return [
    'valgrind',
    '-q',
    '--tool=callgrind',
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

/** The total instructions of each dump in `dir`, in the order they were written. */
export function dumpTotals(dir: string): number[] {
  return readdirSync(dir)
    .map((f) => /^out\.\d+\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => {
      const summary = /^summary: (\d+)/m.exec(readFileSync(join(dir, m[0]), 'utf8'));
      if (!summary) throw new Error(`no summary line in ${m[0]}`);
      return Number(summary[1]);
    });
}
