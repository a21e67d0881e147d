export { proxyRequest, isRelayedResponse, relayedBody, retryAfterMs } from './proxy.ts';
export type { ProxyInput, Attempt, RelayedBody } from './proxy.ts';
export { Upstreams, regionFor } from './upstreams.ts';
export type { OriginPlan, OriginSnapshot, OriginState } from './upstreams.ts';
export { continentOf } from './continents.ts';
