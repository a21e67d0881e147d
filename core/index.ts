/**
 * portico's runtime-neutral core. Web APIs only: every runtime-specific thing arrives through
 * `Capabilities`.
 */
export { createGateway } from './gateway.ts';
export type { Gateway } from './gateway.ts';
export type {
  Capabilities,
  ForwardFn,
  ForwardInit,
  RequestContext,
  GeoInfo,
  KVStore,
  CacheStore,
  Stores,
  LogRecord,
} from './capabilities.ts';
export { fetchInit } from './capabilities.ts';
export { createMemoryKV, createMemoryCache, createWebCacheStore, createFallbackCacheStore } from './stores/index.ts';
export { compileConfig, defineConfig } from './config/index.ts';
export type { CompiledConfig, PorticoConfig } from './config/index.ts';
export { PorticoError, ConfigError, HttpProblem } from './errors.ts';
export type { PorticoErrorCode, ConfigIssue } from './errors.ts';
