// Public surface of the hot path (re-exports only).
export * from './types.ts';
export { compileRouteTable } from './compile-route-table.ts';
export { createMatcher, loadRouteTable, RouteTableError, type LoadedTable, type LoadOptions } from './matcher.ts';
export { hashKey, hashKeyInto, hashWordsToHex } from './hash-key.ts';
export {
  createBucketTable,
  consumeBucket,
  consumeBucketWords,
  type BucketTable,
  type BucketTableOptions,
} from './bucket-table.ts';
export { instantiateHot, hotFromWasm2js, compileJsStringHot, readsStringsInPlace } from './instantiate.ts';
export { createTwinHot } from './twin.ts';
export { createDefaultHot, defaultHotKind } from './default-hot.ts';
export { PorticoRouter } from './portico-router.ts';
export { HotMemoryError } from './_hot-state.ts';
export { HotRouter } from './hono-router.ts';
export { createRequestStep, RequestStep } from './request-step.ts';
