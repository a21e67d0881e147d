/**
 * Vercel Edge's capabilities: `fetch` for forwarding, `context.waitUntil`, and the client's
 * address and geo from the `x-real-ip` and `x-vercel-ip-*` headers, which Vercel's edge sets and
 * overwrites (so they are trusted here, and only here). Vercel Edge has no cache or KV API of its
 * own: core keeps that state in memory, per instance.
 */
import { type Capabilities, fetchInit, type GeoInfo, type RequestContext } from '../../core/index.ts';
import type { HotExports } from '../../core/hot/index.ts';

/** The second argument Vercel passes to an Edge Function. */
export interface VercelEdgeContext {
  waitUntil?(promise: Promise<unknown>): void;
}

export function createVercelCapabilities(hot: HotExports): Capabilities {
  return {
    forward: (url, init) => fetch(url, fetchInit(init)),
    now: Date.now,
    hot,
    log: (record) => console.log(JSON.stringify(record)),
    // Vercel Edge exposes the project's environment variables on process.env.
    secrets: (name) => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name],
  };
}

function header(request: Request, name: string): string | undefined {
  const value = request.headers.get(name);
  if (value === null || value === '') return undefined;
  // Vercel percent-encodes non-ASCII city names (e.g. `S%C3%A3o%20Paulo`).
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function geoFrom(request: Request): GeoInfo | undefined {
  const geo: GeoInfo = {};
  const country = header(request, 'x-vercel-ip-country');
  const region = header(request, 'x-vercel-ip-country-region');
  const city = header(request, 'x-vercel-ip-city');
  const latitude = Number(header(request, 'x-vercel-ip-latitude') ?? NaN);
  const longitude = Number(header(request, 'x-vercel-ip-longitude') ?? NaN);
  if (country) geo.country = country;
  if (region) geo.region = region;
  if (city) geo.city = city;
  if (Number.isFinite(latitude)) geo.latitude = latitude;
  if (Number.isFinite(longitude)) geo.longitude = longitude;
  return Object.keys(geo).length > 0 ? geo : undefined;
}

export function requestContext(request: Request, context: VercelEdgeContext | undefined): RequestContext {
  const background = (promise: Promise<unknown>): void => {
    promise.catch((err: unknown) => console.error('portico: background task failed', err));
  };
  const result: RequestContext = {
    waitUntil: context?.waitUntil ? (promise) => context.waitUntil?.(promise) : background,
  };
  const clientAddress = header(request, 'x-real-ip');
  if (clientAddress) result.clientAddress = clientAddress;
  const geo = geoFrom(request);
  if (geo) result.geo = geo;
  return result;
}
