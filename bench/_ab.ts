/**
 * A fixed number of keep-alive GETs from ApacheBench (Debian `apache2-utils`), 8 at a time: how
 * the benchmarks that count (instructions, bytes promoted) send the same work to every server.
 */
import { execFile } from 'node:child_process';

/** `requests` keep-alive GETs of `url`, 8 at a time; rejects unless every one got a 2xx. */
export function ab(url: string, requests: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ab', ['-q', '-k', '-c', '8', '-n', String(requests), url], { maxBuffer: 1 << 24 }, (err, out, stderr) => {
      if (err) return reject(new Error(`ab: ${stderr || err.message}`));
      if (!/Failed requests:\s+0\b/.test(out) || /Non-2xx/.test(out)) return reject(new Error(`ab saw failures: ${out}`));
      resolve();
    });
  });
}
