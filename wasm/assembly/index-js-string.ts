// portico hot path, js-string build: every export of index.ts, plus matchRouteStr, which reads
// the request path in place through the JS String Builtins (js-string.ts). Built with
// --enable reference-types; loaded only where the engine compiles it with
// `{ builtins: ['js-string'] }` (core/hot/instantiate.ts), else the plain build is used.
export * from './index';
export { matchRouteStr } from './js-string';
