export { proxyRequest, isRelayedResponse, relayedBody } from './proxy.ts';
export { retryAfterMs } from './retry-after.ts';
export type { ProxyInput, Attempt, RelayedBody } from './proxy.ts';
export { Upstreams, regionFor } from './upstreams.ts';
export type { OriginPlan, OriginSnapshot, OriginState } from './upstreams.ts';
export { continentOf } from './continents.ts';
export { createMmdbGeo, geoFromMmdbRecord, openMmdbGeo, GeoDatabaseError, MMDB_CONFIG_PATH } from './mmdb-geo.ts';
export type { MmdbReader } from './mmdb-geo.ts';
