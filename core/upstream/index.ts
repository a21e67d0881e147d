export { proxyRequest, isRelayedResponse, relayedBody } from './proxy.ts';
export type { ProxyInput, RelayedBody } from './proxy.ts';
