export { proxyRequest, rewritePath, applyHeaderTransform } from './proxy.ts';
export type { ProxyInput } from './proxy.ts';
