/**
 * `portico purge --url <gateway> [--tag T]... [--path P | --purge-url U]... [--all] [--soft] [--token-env NAME]`:
 * purges a running gateway's cache through its admin endpoint, `/_portico/purge`. The admin token
 * is read from an environment variable (default PORTICO_ADMIN_TOKEN), never from the command line.
 * A `--path` is resolved against `--url` (the host the entries were stored for).
 */
import { gatewayUrl } from './gateway-url.ts';

export interface PurgeOptions {
  url?: string;
  tag?: string | string[];
  path?: string | string[];
  purgeUrl?: string | string[];
  all?: boolean;
  soft?: boolean;
  tokenEnv?: string;
}

export interface PurgeIo {
  out(line: string): void;
  err(line: string): void;
  fetch?: typeof fetch;
}

const list = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];

/** Runs the command; returns the exit code (0 done, 1 the gateway refused, 2 bad usage). */
export async function runPurgeCommand(
  options: PurgeOptions,
  io: PurgeIo,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const base = gatewayUrl(options.url, 'talk to', (l) => io.err(l));
  if (base === null) return 2;
  const tags = list(options.tag);
  const urls = [...list(options.purgeUrl), ...list(options.path).map((p) => new URL(p, base).toString())];
  if (!options.all && tags.length === 0 && urls.length === 0) {
    io.err('expected at least one of --tag, --path, --purge-url and --all');
    return 2;
  }
  const tokenEnv = options.tokenEnv ?? 'PORTICO_ADMIN_TOKEN';
  const token = env[tokenEnv];
  if (!token) {
    io.err(`the admin token is read from $${tokenEnv}, which is not set`);
    return 2;
  }
  const body = {
    ...(tags.length ? { tags } : {}),
    ...(urls.length ? { urls } : {}),
    ...(options.all ? { all: true } : {}),
    soft: options.soft === true,
  };
  let res: Response;
  try {
    res = await (io.fetch ?? fetch)(new URL('/_portico/purge', base), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    io.err(`cannot reach ${base.origin}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const text = await res.text();
  if (res.status !== 202) {
    let detail = text;
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
    } catch {
      // not JSON: print as it came
    }
    io.err(`purge refused (${res.status}): ${detail}`);
    return 1;
  }
  const r = JSON.parse(text) as { soft: boolean; tags: number; urls: number; all: boolean; reach: string };
  const what = [r.all ? 'everything' : '', r.tags ? `${r.tags} tag(s)` : '', r.urls ? `${r.urls} URL(s)` : '']
    .filter(Boolean)
    .join(', ');
  io.out(
    `${r.soft ? 'soft-purged (marked stale)' : 'purged'}: ${what}; reached ${r.reach === 'fanout' ? 'every process (fan-out)' : 'the instance that answered'}`,
  );
  return 0;
}
