/**
 * One issuer's remote key set, cached. Not jose's `createRemoteJWKSet`, which has no
 * stale-if-error and no back-off, and whose single in-flight fetch is dropped on Workers and
 * Vercel Edge (so every concurrent request fetches). Here:
 * - a fetched set is fresh for its Cache-Control max-age, bounded by min and max TTL;
 * - one fetch in flight per issuer (per isolate); concurrent requests wait for it;
 * - a kid the set does not have triggers a refetch, at most one per cooldown;
 * - a failed fetch keeps the last good set, up to the max stale age, and backs off exponentially
 *   with jitter (the back-off the OTLP exporter uses too: 1 s doubling to 5 min, up to half random);
 * - fetches have a timeout and a body size limit;
 * - the set is shared across isolates through the KV store (JSON with its fetch time), read
 *   before fetching when this isolate has none, and before a kid-driven refetch.
 */
import type { BodySource, ForwardFn, KVStore, LogRecord } from '../../capabilities.ts';
import type { CompiledJwks } from './compile.ts';
import { type KeySet, keySetFromJwks } from './keys.ts';
import type { JwtAlgorithm } from './schema.ts';
import { Backoff, type BackoffOptions } from '../../observe/backoff.ts';

/** Back-off between failed fetches: 1 s, doubling up to 5 minutes, up to half of it random. */
const FETCH_BACKOFF: BackoffOptions = { firstMs: 1000, maxMs: 300_000, jitter: 0.5 };

export interface JwksSourceOptions {
  issuer: string;
  /** Told how each network fetch of the set ended (the `portico_jwks_fetches_total` metric). */
  onFetch?: (outcome: 'ok' | 'error' | 'timeout') => void;
  jwks: CompiledJwks;
  algorithms: readonly JwtAlgorithm[];
  fetch: ForwardFn;
  kv: KVStore;
  now: () => number;
  log: (record: LogRecord) => void;
}

export interface JwksSource {
  /**
   * The key set to verify a token with `kid` (null: the token has none). May refetch (unknown
   * kid, expired set); null when no usable set is available.
   */
  keys(kid: string | null, waitUntil: (p: Promise<unknown>) => void): Promise<KeySet | null>;
  /** How many network fetches were started (for tests and stats). */
  readonly fetches: number;
}

interface Stored {
  fetchedAt: number;
  ttlMs: number;
  jwks: unknown;
}

/** `max-age` of a Cache-Control header, in seconds; null when absent or `no-store`/`no-cache`. */
export function maxAgeSeconds(cacheControl: string | null): number | null {
  if (cacheControl === null) return null;
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/i.test(cacheControl)) return 0;
  const m = /(?:^|[\s,])max-age\s*=\s*"?(\d{1,10})"?/i.exec(cacheControl);
  return m ? Number(m[1]) : null;
}

/** A body source as a stream (the forward's `guardBody`: no idle timeout of its own here). */
function streamOf(source: BodySource): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await source.read();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel: (reason) => source.cancel(reason),
  });
}

/** Reads at most `max` bytes of a body, as text; throws past the limit or when `signal` aborts. */
async function readLimited(response: Response, max: number, signal: AbortSignal): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? '0');
  if (length > max) throw new Error(`JWKS larger than ${max} bytes`);
  if (!response.body) return '';
  const reader = response.body.getReader();
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new Error('JWKS fetch timed out'));
    signal.addEventListener('abort', () => reject(new Error('JWKS fetch timed out')), { once: true });
  });
  aborted.catch(() => {});
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const r = await Promise.race([reader.read(), aborted]);
      if (r.done) break;
      total += r.value.byteLength;
      if (total > max) throw new Error(`JWKS larger than ${max} bytes`);
      chunks.push(r.value);
    }
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

export function createJwksSource(options: JwksSourceOptions): JwksSource {
  const { jwks, now, kv, log } = options;
  const kvKey = `portico:jwks:${options.issuer}`;
  let set: KeySet | null = null;
  let fetchedAt = 0;
  let freshUntil = 0;
  let inflight: Promise<void> | null = null;
  let loaded: Promise<void> | null = null;
  const backoff = new Backoff(FETCH_BACKOFF);
  let lastKidRefetch = Number.NEGATIVE_INFINITY;
  let fetches = 0;

  function adopt(document: unknown, at: number, ttlMs: number): boolean {
    const next = keySetFromJwks(document, options.algorithms);
    if (!next) return false;
    set = next;
    fetchedAt = at;
    freshUntil = at + ttlMs;
    return true;
  }

  async function readKv(): Promise<Stored | null> {
    try {
      const text = await kv.get(kvKey);
      if (text === null) return null;
      const stored = JSON.parse(text) as Stored;
      return typeof stored.fetchedAt === 'number' && typeof stored.ttlMs === 'number' ? stored : null;
    } catch {
      return null;
    }
  }

  /** A fresh set another isolate stored, when newer than ours (and, for a kid, when it has it). */
  async function fromKv(kid: string | null): Promise<boolean> {
    const stored = await readKv();
    if (!stored || stored.fetchedAt <= fetchedAt || now() - stored.fetchedAt >= stored.ttlMs) return false;
    const next = keySetFromJwks(stored.jwks, options.algorithms);
    if (!next || (kid !== null && !next.kids.has(kid))) return false;
    set = next;
    fetchedAt = stored.fetchedAt;
    freshUntil = stored.fetchedAt + stored.ttlMs;
    return true;
  }

  async function fetchOnce(): Promise<void> {
    fetches++;
    const started = now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), jwks.timeoutMs);
    try {
      const response = await options.fetch(jwks.url, {
        method: 'GET',
        headers: new Headers({ accept: 'application/jwk-set+json, application/json' }),
        body: null,
        redirect: 'manual',
        signal: controller.signal,
        guardBody: streamOf,
      });
      if (response.status !== 200) {
        response.body?.cancel().catch(() => {});
        throw new Error(`JWKS answered ${response.status}`);
      }
      const text = await readLimited(response, jwks.maxBytes, controller.signal);
      const document = JSON.parse(text) as unknown;
      const maxAge = maxAgeSeconds(response.headers.get('cache-control'));
      const ttlMs = maxAge === null ? jwks.defaultTtlMs : Math.min(Math.max(maxAge * 1000, jwks.minTtlMs), jwks.maxTtlMs);
      if (!adopt(document, started, ttlMs)) throw new Error('JWKS is not a key set { "keys": [...] }');
      backoff.succeeded();
      options.onFetch?.('ok');
      const stored: Stored = { fetchedAt: started, ttlMs, jwks: document };
      await kv
        .put(kvKey, JSON.stringify(stored), { ttlSeconds: Math.max(60, Math.ceil(jwks.maxStaleMs / 1000)) })
        .catch(() => {});
    } catch (err) {
      options.onFetch?.(controller.signal.aborted ? 'timeout' : 'error');
      backoff.failed(now());
      log({
        level: 'warn',
        msg: set ? 'JWKS fetch failed; keeping the last good key set' : 'JWKS fetch failed; no key set yet',
        issuer: options.issuer,
        failures: backoff.failures,
        cause: controller.signal.aborted ? 'timeout' : err instanceof Error ? err.message.slice(0, 200) : 'error',
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** One refresh in flight per issuer: KV first (another isolate may have fetched), then the network. */
  function refresh(kid: string | null): Promise<void> {
    if (!inflight) {
      inflight = (async () => {
        if (await fromKv(kid)) return;
        await fetchOnce();
      })().finally(() => {
        inflight = null;
      });
    }
    return inflight;
  }

  /** The first use in this isolate: the KV store's copy, if there is a usable one. */
  function loadOnce(): Promise<void> {
    loaded ??= (async () => {
      const stored = await readKv();
      if (stored && now() - stored.fetchedAt <= jwks.maxStaleMs) adopt(stored.jwks, stored.fetchedAt, stored.ttlMs);
    })();
    return loaded;
  }

  function usable(): KeySet | null {
    return set && now() - fetchedAt <= jwks.maxStaleMs ? set : null;
  }

  return {
    get fetches() {
      return fetches;
    },
    async keys(kid, waitUntil) {
      if (!set) await loadOnce();
      let t = now();
      if (!usable()) {
        // Nothing to serve: wait for a fetch (unless one failed just now: back off).
        if (inflight) await inflight;
        else if (backoff.ready(t)) await refresh(null);
        return usable();
      }
      if (t >= freshUntil && !inflight && backoff.ready(t)) {
        // Stale but usable: serve it, and refresh in the background.
        waitUntil(refresh(null));
      }
      if (kid !== null && !set!.kids.has(kid)) {
        // Rotation: a new kid. Wait for the fetch in flight, or start one if the cooldown allows.
        t = now();
        if (inflight) await inflight;
        else if (t - lastKidRefetch >= jwks.cooldownMs && backoff.ready(t)) {
          lastKidRefetch = t;
          await refresh(kid);
        }
      }
      return usable();
    },
  };
}
