/**
 * Cloudflare's capabilities: `fetch` for forwarding, Workers KV when the `PORTICO_KV` binding is
 * configured in wrangler.toml, `ctx.waitUntil`, and the client's address and geo from
 * `CF-Connecting-IP` and `request.cf` (both set by Cloudflare's edge; CF-Connecting-IP is
 * believed only where `request.cf` shows the edge set it, see cfConnectingIpTrusted).
 */
import {
  createFallbackCacheStore,
  createMemoryCache,
  createWebCacheStore,
  fetchInit,
  type Capabilities,
  type GeoInfo,
  type KVStore,
  type RequestContext,
} from '../../core/index.ts';
import type { HotExports } from '../../core/hot/index.ts';
import { durableObjectCounters, type DurableObjectNamespaceLike } from './counter-object.ts';

/** The Workers KV namespace methods used here. */
interface WorkersKvNamespace {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface WorkerEnv {
  /** Optional KV namespace binding for keys, revocations and health. */
  PORTICO_KV?: WorkersKvNamespace;
  /** Optional Durable Object namespace (class PorticoCounters) for shared rate-limit counters. */
  PORTICO_COUNTERS?: DurableObjectNamespaceLike;
  /** Secrets (`wrangler secret put NAME`) and plain vars are string bindings. */
  [binding: string]: unknown;
}

export interface WorkerExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** The `request.cf` fields that become geo. */
interface IncomingCf {
  country?: string;
  /** Continent code (AF, AN, AS, EU, NA, OC, SA). */
  continent?: string;
  region?: string;
  city?: string;
  latitude?: string;
  longitude?: string;
  colo?: string;
}

/** Workers KV refuses TTLs under 60 seconds. */
const KV_MIN_TTL_SECONDS = 60;

function workersKvStore(ns: WorkersKvNamespace): KVStore {
  return {
    get: (key) => ns.get(key),
    put: (key, value, options) =>
      ns.put(
        key,
        value,
        options?.ttlSeconds === undefined
          ? undefined
          : { expirationTtl: Math.max(KV_MIN_TTL_SECONDS, Math.ceil(options.ttlSeconds)) },
      ),
    delete: (key) => ns.delete(key),
  };
}

/** `caches.default` where the runtime has it (Workers and miniflare). */
const workersDefaultCache = (globalThis as { caches?: { default?: Parameters<typeof createWebCacheStore>[0] } }).caches?.default;

export function createWorkerCapabilities(hot: HotExports, env: WorkerEnv): Capabilities {
  return {
    forward: (url, init) => fetch(url, fetchInit(init)),
    now: Date.now,
    hot,
    log: (record) => console.log(JSON.stringify(record)),
    // Secrets and vars arrive as string bindings of `env`.
    secrets: (name) => {
      const value = env[name];
      return typeof value === 'string' ? value : undefined;
    },
    stores: {
      ...(env.PORTICO_KV ? { kv: workersKvStore(env.PORTICO_KV as WorkersKvNamespace) } : {}),
      ...(env.PORTICO_COUNTERS ? { counters: durableObjectCounters(env.PORTICO_COUNTERS as DurableObjectNamespaceLike) } : {}),
      // caches.default: the data center's cache. Plain workerd without a cache service throws on
      // every call: the isolate's memory LRU takes over there (core/stores/fallback-cache-store.ts).
      ...(workersDefaultCache
        ? {
            cache: createFallbackCacheStore(
              createWebCacheStore(workersDefaultCache),
              () => createMemoryCache(),
              (e) => /No Cache was configured/i.test(String(e)),
            ),
          }
        : {}),
    },
  };
}

function numberOrUndefined(value: string | undefined): number | undefined {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function geoFrom(cf: IncomingCf | undefined): GeoInfo | undefined {
  if (!cf) return undefined;
  const geo: GeoInfo = {};
  if (cf.country) geo.country = cf.country;
  if (cf.continent) geo.continent = cf.continent;
  if (cf.region) geo.region = cf.region;
  if (cf.city) geo.city = cf.city;
  const latitude = numberOrUndefined(cf.latitude);
  const longitude = numberOrUndefined(cf.longitude);
  if (latitude !== undefined) geo.latitude = latitude;
  if (longitude !== undefined) geo.longitude = longitude;
  if (cf.colo) geo.pop = cf.colo;
  return geo;
}

/**
 * Whether CF-Connecting-IP was written by Cloudflare's edge rather than by the client. On the
 * edge every request carries `request.cf` with the data center's `colo` (set by the platform,
 * never from a header) and the edge overwrites CF-Connecting-IP; a bare workerd (self-hosted,
 * behind something else) has no such `request.cf`, and the header is whatever the client sent. The `PORTICO_CF_CONNECTING_IP`
 * binding overrides the guess: "trust" (a workerd behind a proxy that sets it, e.g. with a
 * `cfBlobHeader`) or "ignore".
 */
function cfConnectingIpTrusted(request: Request, env: WorkerEnv | undefined): boolean {
  const setting = env?.['PORTICO_CF_CONNECTING_IP'];
  if (setting === 'trust') return true;
  if (setting === 'ignore') return false;
  // A bare workerd may hand over an object of its own: the edge's always names its data center.
  const colo = (request as Request & { cf?: IncomingCf }).cf?.colo;
  return typeof colo === 'string' && colo !== '';
}

export function requestContext(request: Request, ctx: WorkerExecutionContext, env?: WorkerEnv): RequestContext {
  const context: RequestContext = { waitUntil: (promise) => ctx.waitUntil(promise) };
  // Without a trusted CF-Connecting-IP the client's address is unknown (workerd gives none).
  const clientAddress = cfConnectingIpTrusted(request, env) ? request.headers.get('cf-connecting-ip') : null;
  if (clientAddress) context.clientAddress = clientAddress;
  const geo = geoFrom((request as Request & { cf?: IncomingCf }).cf);
  if (geo) context.geo = geo;
  return context;
}
