/**
 * Deno's capabilities: the runtime's `fetch` for forwarding, Deno KV for the KV store when the
 * process has it (`--unstable-kv` locally, always on Deno Deploy), the peer address from the
 * connection info. Deno has no `waitUntil`: background work is kept referenced and its failure
 * logged. Deno has no geo of its own.
 */
import {
  createWebCacheStore,
  fetchInit,
  type CacheStore,
  type Capabilities,
  type KVStore,
  type RequestContext,
} from '../../core/index.ts';
import type { HotExports } from '../../core/hot/index.ts';
import { createDenoKvCounters, type DenoAtomicKv } from './kv-counter-store.ts';

/** The second argument of a `deno serve` handler. */
export interface DenoServeInfo {
  remoteAddr?: { hostname?: string; port?: number; transport?: string };
}

interface DenoKv {
  get(key: readonly string[]): Promise<{ value: unknown }>;
  set(key: readonly string[], value: string, options?: { expireIn?: number }): Promise<unknown>;
  delete(key: readonly string[]): Promise<void>;
}

/** The slice of the `Deno` namespace this file uses (read from globalThis: absent under Node tests). */
const denoNamespace = (
  globalThis as { Deno?: { openKv?: () => Promise<DenoKv>; env?: { get(name: string): string | undefined } } }
).Deno;

/** An environment variable, or undefined when it is unset or the process may not read it. */
function envOrUndefined(name: string): string | undefined {
  try {
    return denoNamespace?.env?.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The scheme of the connections this process serves, when the request URL cannot be taken for
 * it; null where it can. `deno serve` builds the URL of an absolute-form request
 * (`GET https://bank.example/x HTTP/1.1`) from the target as written, so over plain TCP a client
 * could make X-Forwarded-Proto say https. On Deno Deploy (DENO_DEPLOYMENT_ID is set) the
 * platform terminates the connection and builds the URL: null. A self-hosted `deno serve` serves
 * plain HTTP (the built deno.json's start task), unless PORTICO_TLS=1 says it was given --cert.
 */
export function connectionScheme(): 'http' | 'https' | null {
  if (envOrUndefined('DENO_DEPLOYMENT_ID')) return null;
  return envOrUndefined('PORTICO_TLS') === '1' ? 'https' : 'http';
}

/** `request`, with its URL's scheme set to `scheme` when it says otherwise (see connectionScheme). */
export function withScheme(request: Request, scheme: 'http' | 'https' | null): Request {
  if (scheme === null || request.url.startsWith(`${scheme}:`)) return request;
  const url = new URL(request.url);
  url.protocol = `${scheme}:`;
  return new Request(url.href, request);
}

const KV_PREFIX = 'portico';

function denoKvStore(kv: DenoKv): KVStore {
  return {
    async get(key) {
      const entry = await kv.get([KV_PREFIX, key]);
      return typeof entry.value === 'string' ? entry.value : null;
    },
    async put(key, value, options) {
      // Deno KV's expireIn is in milliseconds; ours is in seconds.
      const ttl = options?.ttlSeconds;
      await kv.set([KV_PREFIX, key], value, ttl === undefined ? undefined : { expireIn: ttl * 1000 });
    },
    delete: (key) => kv.delete([KV_PREFIX, key]),
  };
}

/** Deno KV when this process may open it, else undefined (core then keeps state in memory). */
async function openDenoKv(): Promise<(KVStore & { counters: ReturnType<typeof createDenoKvCounters> }) | undefined> {
  if (typeof denoNamespace?.openKv !== 'function') return undefined;
  try {
    const raw = await denoNamespace.openKv();
    // The same database holds the rate-limit counters (kv-counter-store.ts).
    return Object.assign(denoKvStore(raw), { counters: createDenoKvCounters(raw as unknown as DenoAtomicKv) });
  } catch {
    return undefined;
  }
}

/** Deno's Web Cache API (`caches.open`), when present; else undefined (core keeps a memory cache). */
async function openDenoCache(): Promise<CacheStore | undefined> {
  const storage = (globalThis as { caches?: { open(name: string): Promise<Parameters<typeof createWebCacheStore>[0]> } }).caches;
  if (typeof storage?.open !== 'function') return undefined;
  try {
    return createWebCacheStore(await storage.open('portico'));
  } catch {
    return undefined;
  }
}

export async function createDenoCapabilities(hot: HotExports): Promise<{
  capabilities: Capabilities;
  context(info: DenoServeInfo | undefined): RequestContext;
}> {
  const log = (record: Parameters<NonNullable<Capabilities['log']>>[0]): void => console.log(JSON.stringify(record));
  const kv = await openDenoKv();
  const cache = await openDenoCache();
  const capabilities: Capabilities = {
    forward: (url, init) => fetch(url, fetchInit(init)),
    // A Deno server lives on between requests: active health checks run on timers.
    timers: true,
    now: Date.now,
    hot,
    log,
    stores: { ...(kv ? { kv, counters: kv.counters } : {}), ...(cache ? { cache } : {}) },
    // Needs `--allow-env` (or `--allow-env=NAME,...`) for the variables the config references.
    secrets: (name) => {
      try {
        return denoNamespace?.env?.get(name);
      } catch (err) {
        throw new Error(`reading the secret ${name} needs Deno's --allow-env=${name}`, { cause: err });
      }
    },
  };
  const waitUntil = (promise: Promise<unknown>): void => {
    promise.catch((err: unknown) => log({ level: 'error', msg: 'background task failed', cause: String(err) }));
  };
  return {
    capabilities,
    context: (info) => {
      const clientAddress = info?.remoteAddr?.hostname;
      return clientAddress === undefined ? { waitUntil } : { clientAddress, waitUntil };
    },
  };
}
