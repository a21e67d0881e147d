/**
 * CPU time of benchmark servers from Linux's /proc: what a proxy spends a request, for servers
 * that do not run flat out under the load as well as for those that do.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** utime + stime of one /proc/<pid>/stat text, in clock ticks, and its parent's pid. */
function statOf(pid: number | string): { ticks: number; ppid: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The fields after the command (which may hold spaces) start at state: ppid is the 2nd,
  // utime and stime the 12th and 13th.
  const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
  return { ticks: Number(fields[11]) + Number(fields[12]), ppid: Number(fields[1]) };
}

/**
 * A process's CPU time so far (user + system), in milliseconds (/proc counts ticks of 10 ms), with
 * its direct children's when `withChildren` (nginx's worker under its master). NaN without /proc.
 *
 * @example
 * const before = cpuMs(child.pid!, true); await load(); const ms = cpuMs(child.pid!, true) - before;
 */
export function cpuMs(pid: number, withChildren = false): number {
  const own = statOf(pid);
  if (own === null) return Number.NaN;
  let ticks = own.ticks;
  if (withChildren) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
      const child = statOf(entry);
      if (child !== null && child.ppid === pid) ticks += child.ticks;
    }
  }
  return ticks * 10;
}
