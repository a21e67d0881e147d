export { proxyRequest, rewritePath, applyHeaderTransform, isRelayedResponse } from './proxy.ts';
export type { ProxyInput } from './proxy.ts';
