export {
  compileConfig,
  defineConfig,
  decodeTable,
  COMPILED_CONFIG_VERSION,
  DEFAULT_TIMEOUT_MS,
  RESERVED_PATHS,
} from './compile.ts';
export type {
  CompiledConfig,
  CompiledEntry,
  CompiledOrigin,
  CompiledRoute,
  CompiledHeaderCondition,
  RouteKind,
} from './compile.ts';
export { ConfigSchema, ROUTE_METHODS } from './schema.ts';
export { closestName, didYouMean } from './did-you-mean.ts';
export type { PorticoConfig, ParsedConfig, RouteConfig, OriginConfig } from './schema.ts';
export type { CompiledHeaderTransform } from '../policies/headers/index.ts';
