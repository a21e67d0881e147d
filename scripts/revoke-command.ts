/**
 * `portico revoke --url <gateway> --jti X | --sub Y [--ttl S] [--token-env NAME] [--check] [--undo]`:
 * writes to (or reads) a running gateway's revocation denylist through its admin endpoint,
 * `/_portico/revocations`. The admin token is read from an environment variable (default
 * PORTICO_ADMIN_TOKEN), never from the command line, so it stays out of shell history and `ps`.
 */

export interface RevokeOptions {
  url?: string;
  jti?: string;
  sub?: string;
  ttl?: string | number;
  tokenEnv?: string;
  check?: boolean;
  undo?: boolean;
}

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

/** Runs the command; returns the exit code (0 done, 1 the gateway refused, 2 bad usage). */
export async function runRevokeCommand(options: RevokeOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (!options.url) {
    err('--url: the gateway to talk to is required, e.g. --url https://api.example.com');
    return 2;
  }
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    err(`--url: expected an absolute http(s) URL, got "${options.url}"`);
    return 2;
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    err(`--url: expected an http(s) URL, got "${options.url}"`);
    return 2;
  }
  const jti = options.jti === undefined ? undefined : String(options.jti);
  const sub = options.sub === undefined ? undefined : String(options.sub);
  if ((jti === undefined) === (sub === undefined)) {
    err('expected exactly one of --jti and --sub');
    return 2;
  }
  const tokenEnv = options.tokenEnv ?? 'PORTICO_ADMIN_TOKEN';
  const adminToken = env[tokenEnv];
  if (!adminToken) {
    err(`the admin token is read from $${tokenEnv}, which is not set`);
    return 2;
  }
  const kind = jti !== undefined ? 'jti' : 'sub';
  const value = (jti ?? sub) as string;
  const endpoint = new URL('/_portico/revocations', base);
  const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
  let init: RequestInit;
  if (options.check || options.undo) {
    endpoint.searchParams.set(kind, value);
    init = { method: options.check ? 'GET' : 'DELETE', headers };
  } else {
    const body: Record<string, unknown> = { [kind]: value };
    if (options.ttl !== undefined) {
      const ttl = Number(options.ttl);
      if (!Number.isInteger(ttl) || ttl < 60) {
        err(`--ttl: expected a whole number of seconds, at least 60, got "${options.ttl}"`);
        return 2;
      }
      body['ttlSeconds'] = ttl;
    }
    init = { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) };
  }
  let res: Response;
  try {
    res = await fetch(endpoint, { ...init, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    err(`cannot reach ${endpoint.origin}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 300);
    try {
      detail = String((JSON.parse(text) as { detail?: unknown }).detail ?? detail);
    } catch {}
    err(`${endpoint.origin} answered ${res.status}: ${detail}`);
    if (res.status === 404) err("(is revocation on for an issuer, with an admin block, in that gateway's config?)");
    return 1;
  }
  const result = JSON.parse(text) as { revoked: boolean; expiresAt?: string };
  if (options.check)
    out(result.revoked ? `${kind} ${value}: revoked until ${result.expiresAt ?? '?'}` : `${kind} ${value}: not revoked`);
  else if (options.undo) out(`${kind} ${value}: revocation removed`);
  else out(`${kind} ${value}: revoked until ${result.expiresAt}`);
  return 0;
}
