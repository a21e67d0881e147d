/**
 * Fastly's capabilities: `fetch` with dynamic backends for forwarding (js-compute 3 enables
 * them unless `enforceExplicitBackends()` is called), the KV store named `portico` when one is
 * linked to the service, `event.waitUntil`, and the client's address and geo from `event.client`.
 */
import { env } from 'fastly:env';
import { KVStore as FastlyKVStore } from 'fastly:kv-store';
import { SecretStore } from 'fastly:secret-store';
import {
  type CacheStore,
  type Capabilities,
  fetchInit,
  type GeoInfo,
  type KVStore,
  type RequestContext,
} from '../../core/index.ts';
import type { HotExports } from '../../core/hot/index.ts';
import { createFastlyCacheStore } from './fastly-cache-store.ts';

/** Fields of Fastly's `Geolocation` that become geo. */
interface FastlyGeo {
  country_code: string | null;
  /** Continent code (AF, AN, AS, EU, NA, OC, SA). */
  continent?: string | null;
  region: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
}

/** The FetchEvent of js-compute-runtime (only what is used). */
export interface FastlyFetchEvent {
  readonly request: Request;
  readonly client: { readonly address: string; readonly geo: FastlyGeo | null };
  respondWith(response: Response | Promise<Response>): void;
  waitUntil(promise: Promise<unknown>): void;
}

/** Name of the KV store the service may link (fastly.toml, `[setup.kv_stores]`). */
export const FASTLY_KV_STORE = 'portico';
/** Name of the secret store that holds the config's `{ "env": NAME }` secrets. */
export const FASTLY_SECRET_STORE = 'portico';

async function readSecret(name: string): Promise<string | undefined> {
  try {
    const entry = await new SecretStore(FASTLY_SECRET_STORE).get(name);
    return entry ? entry.plaintext() : undefined;
  } catch {
    return undefined; // no secret store linked
  }
}

function openKvStore(): KVStore | undefined {
  let store: FastlyKVStore;
  try {
    store = new FastlyKVStore(FASTLY_KV_STORE);
  } catch {
    return undefined; // not linked: core keeps that state in memory
  }
  return {
    async get(key) {
      const entry = await store.get(key);
      return entry ? entry.text() : null;
    },
    async put(key, value, options) {
      await store.put(key, value, options?.ttlSeconds === undefined ? undefined : { ttl: options.ttlSeconds });
    },
    async delete(key) {
      await store.delete(key);
    },
  };
}

export function createFastlyCapabilities(hot: HotExports): Capabilities {
  let kv: KVStore | undefined | null = null;
  let cache: CacheStore | undefined;
  const capabilities: Capabilities = {
    forward: (url, init) => fetch(url, fetchInit(init)),
    now: Date.now,
    hot,
    log: (record) => console.log(JSON.stringify(record)),
    secrets: readSecret,
  };
  // KV stores can only be opened while handling a request, so the lookup is deferred.
  Object.defineProperty(capabilities, 'stores', {
    enumerable: true,
    get() {
      if (kv === null) kv = openKvStore();
      // fastly:cache is always there: the POP's cache (targets/fastly/fastly-cache-store.ts).
      cache ??= createFastlyCacheStore();
      return kv ? { kv, cache } : { cache };
    },
  });
  return capabilities;
}

function geoFrom(geo: FastlyGeo | null): GeoInfo | undefined {
  const pop = env('FASTLY_POP');
  if (!geo && !pop) return undefined;
  const result: GeoInfo = {};
  if (geo?.country_code) result.country = geo.country_code;
  if (geo?.continent) result.continent = geo.continent;
  if (geo?.region) result.region = geo.region;
  if (geo?.city) result.city = geo.city;
  if (typeof geo?.latitude === 'number') result.latitude = geo.latitude;
  if (typeof geo?.longitude === 'number') result.longitude = geo.longitude;
  if (pop) result.pop = pop;
  return result;
}

export function requestContext(event: FastlyFetchEvent): RequestContext {
  const context: RequestContext = { waitUntil: (promise) => event.waitUntil(promise) };
  if (event.client.address) context.clientAddress = event.client.address;
  const geo = geoFrom(event.client.geo);
  if (geo) context.geo = geo;
  return context;
}
