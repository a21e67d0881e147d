export { proxyRequest, isRelayedResponse } from './proxy.ts';
export type { ProxyInput } from './proxy.ts';
