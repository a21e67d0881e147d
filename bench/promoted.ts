/**
 * What a forwarded request leaves to the old generation: each server of the forwarding benchmark
 * (bench/_forwarding-servers.ts) runs under `node --trace-gc-nvp`, takes a warm-up of keep-alive
 * GETs from `ab -k -c8` (Debian `apache2-utils`), then the measured GETs, and the bytes that V8's
 * young-generation collections promoted and allocated during those are summed from its trace
 * and divided by the requests. A request that is answered and gone should promote next to
 * nothing; bytes promoted a request mean requests kept alive past the collection, which then
 * cost a full collection each (bench/README.md, "what kept every request alive").
 *
 * @example
 * // npx tsx bench/promoted.ts [--requests 30000] [--node PATH]
 */
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ab } from './_ab.ts';
import { TS_LOADER } from './_loader.ts';
import { freePort } from './_ports.ts';

const SERVERS = fileURLToPath(new URL('./_forwarding-servers.ts', import.meta.url));
const KINDS = [
  ['undici-stream', 'node:http + undici.stream (reference)'],
  ['portico', 'portico, native relay (the default)'],
  ['portico-web', 'portico, web streams (nativeRelay: false)'],
] as const;

interface Server {
  child: ChildProcess;
  /** Everything the server printed so far (its trace lines and its access log). */
  output(): string;
}

function startServer(node: string, args: string[], port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start within 20 s`)), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes(`ready ${port}`)) {
        clearTimeout(timer);
        resolve({ child, output: () => text });
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

/** Sums a field of every young-generation collection (`gc=s`, or `gc=mms` with --minor-ms) in `trace`. */
function sum(trace: string, field: string): { total: number; collections: number } {
  let total = 0;
  let collections = 0;
  for (const line of trace.split('\n')) {
    if (!/ gc=(s|mms) /.test(line)) continue;
    const m = new RegExp(`\\b${field}=(\\d+)`).exec(line);
    if (!m) continue;
    total += Number(m[1]);
    collections++;
  }
  return { total, collections };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const requests = Number(opt('--requests') ?? 30_000);
  const node = opt('--node') ?? process.execPath;
  const originPort = await freePort();
  const origin = await startServer(node, ['--import', TS_LOADER, SERVERS, 'origin', String(originPort)], originPort);
  const rows: string[] = [];
  let version = '';
  try {
    for (const [kind, label] of KINDS) {
      const port = await freePort();
      const server = await startServer(
        node,
        ['--trace-gc-nvp', '--import', TS_LOADER, SERVERS, kind, String(port), `http://127.0.0.1:${originPort}`],
        port,
      );
      try {
        const url = `http://127.0.0.1:${port}/items`;
        await ab(url, 20_000);
        const mark = server.output().length;
        await ab(url, requests);
        await new Promise((r) => setTimeout(r, 500));
        const trace = server.output().slice(mark);
        const promoted = sum(trace, 'promoted');
        const allocated = sum(trace, 'allocated');
        rows.push(
          `| ${label} | ${(promoted.total / requests).toFixed(0)} | ${(allocated.total / requests).toFixed(0)} | ${promoted.collections} |`,
        );
      } finally {
        server.child.kill('SIGTERM');
      }
    }
    version = await new Promise<string>((resolve) => execFile(node, ['--version'], (_err, out) => resolve(String(out).trim())));
  } finally {
    origin.child.kill('SIGTERM');
  }
  process.stdout.write(
    `Bytes a forwarded GET (1 KiB body) left to V8's young-generation collections, over ${requests} keep-alive GETs ` +
      `(ab -k -c8) after 20,000 of warm-up, Node ${version}:\n\n` +
      '| server | promoted to old space, bytes a request | allocated, bytes a request | young collections |\n' +
      '| --- | ---: | ---: | ---: |\n' +
      `${rows.join('\n')}\n`,
  );
}

await main();
