/**
 * `portico warm --url <gateway> [--file F] [--concurrency N]`: fetches a list of paths or URLs
 * through a gateway so that its cache holds them. The file (or stdin) holds one path or URL per
 * line, or access-log lines: a JSON line with `path` (portico's own log) or `url`, or a common
 * log format line (`"GET /path HTTP/1.1"`). Only GETs are replayed; duplicates are fetched once.
 * Progress goes to stderr; the summary (and the Cache-Status tally) to stdout.
 */
import { gatewayUrl } from './gateway-url.ts';

export interface WarmOptions {
  url?: string;
  file?: string;
  concurrency?: string | number;
}

export interface WarmIo {
  out(line: string): void;
  err(line: string): void;
  readText(file: string | undefined): Promise<string>;
  fetch?: typeof fetch;
}

/** The paths (or absolute URLs) a list or an access log names, in order, once each. */
export function targetsFrom(text: string): string[] {
  const seen = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let target: string | undefined;
    if (line.startsWith('{')) {
      try {
        const rec = JSON.parse(line) as { method?: string; path?: string; url?: string };
        if (rec.method === undefined || rec.method === 'GET') target = rec.url ?? rec.path;
      } catch {
        target = undefined;
      }
    } else {
      const clf = /"(\w+) (\S+) HTTP\/[\d.]+"/.exec(line);
      if (clf) target = clf[1] === 'GET' ? clf[2] : undefined;
      else if (/^(https?:\/\/|\/)\S*$/.test(line)) target = line;
    }
    if (target) seen.add(target);
  }
  return [...seen];
}

export async function runWarmCommand(options: WarmOptions, io: WarmIo): Promise<number> {
  const base = gatewayUrl(options.url, 'warm', (l) => io.err(l));
  if (base === null) return 2;
  const concurrency = options.concurrency === undefined ? 8 : Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    io.err(`--concurrency: expected a whole number from 1 to 256, got "${options.concurrency}"`);
    return 2;
  }
  const targets = targetsFrom(await io.readText(options.file));
  if (targets.length === 0) {
    io.err('no URLs to warm (expected paths, URLs or access-log lines)');
    return 2;
  }
  const doFetch = io.fetch ?? fetch;
  const tally = new Map<string, number>();
  let done = 0;
  let failed = 0;
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < targets.length) {
      const target = targets[next++] as string;
      try {
        const res = await doFetch(new URL(target, base));
        await res.arrayBuffer();
        const status = res.headers.get('cache-status') ?? '';
        const kind = /portico; hit/.test(status)
          ? 'hit'
          : /stored/.test(status)
            ? 'stored'
            : res.ok
              ? 'not stored'
              : `status ${res.status}`;
        tally.set(kind, (tally.get(kind) ?? 0) + 1);
        if (!res.ok) failed++;
      } catch {
        failed++;
        tally.set('unreachable', (tally.get('unreachable') ?? 0) + 1);
      }
      done++;
      if (done % 50 === 0 || done === targets.length) io.err(`warm: ${done}/${targets.length}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  const parts = [...tally].map(([k, v]) => `${v} ${k}`).join(', ');
  io.out(`warmed ${targets.length} URL(s) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${parts}`);
  return failed > 0 ? 1 : 0;
}
