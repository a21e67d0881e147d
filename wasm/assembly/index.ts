// portico hot path: the exports of portico.wasm (and of its wasm2js build).
// ABI: i32/u32/f64 only; strings as (ptr, len) into linear memory; results in output areas.
export { reserve, paramsPtr, hashOutPtr, bucketOutPtr } from './memory';
export { matchRoute, checkTable } from './matcher';
export { hash64 } from './hash';
export { bucketTableBytes, bucketInit, bucketConsume } from './bucket';
export { requestStep } from './step';
