/**
 * Turning a loaded hot-path module into HotExports. Targets load the module their own way
 * (Cloudflare and Vercel hand over a compiled WebAssembly.Module; Fastly and WASI-HTTP have no
 * WebAssembly and import the wasm2js build) and pass the result in as a capability.
 *
 * @example
 * import wasm from './portico.wasm'; // a WebAssembly.Module on Cloudflare
 * const hot = instantiateHot(wasm);
 */
import type { HotExports } from './types.ts';

const REQUIRED_FUNCTIONS = [
  'reserve',
  'paramsPtr',
  'hashOutPtr',
  'bucketOutPtr',
  'checkTable',
  'matchRoute',
  'hash64',
  'bucketTableBytes',
  'bucketInit',
  'bucketConsume',
  'requestStep',
] as const;

function checkExports(value: unknown, label: string): HotExports {
  const ns = value as Record<string, unknown> | null;
  if (ns === null || typeof ns !== 'object') throw new TypeError(`${label}: not a module namespace`);
  for (const name of REQUIRED_FUNCTIONS) {
    if (typeof ns[name] !== 'function') throw new TypeError(`${label}: missing export ${name}()`);
  }
  const memory = ns['memory'] as { buffer?: unknown } | undefined;
  if (!memory || !(memory.buffer instanceof ArrayBuffer)) {
    throw new TypeError(`${label}: missing export memory with an ArrayBuffer buffer`);
  }
  return ns as unknown as HotExports;
}

/**
 * Instantiates the compiled portico.wasm synchronously (the module has no imports; the
 * js-string build's two are supplied by the engine, see compileJsStringHot).
 * Each call gives an independent instance with its own memory.
 */
export function instantiateHot(module: WebAssembly.Module): HotExports {
  const instance = new WebAssembly.Instance(module, {});
  return checkExports(instance.exports, 'portico.wasm');
}

/** The compile option of the JS String Builtins proposal (not in TypeScript's lib yet). */
const JS_STRING_BUILTINS = { builtins: ['js-string'] };

/**
 * Compiles the js-string build (`portico.js-string.wasm`) with the JS String Builtins, or
 * returns null where the engine does not supply them (Node 20, engines before V8 13.0 or
 * without the feature). Detected by trying, not by reading a version: the module is compiled
 * with `{ builtins: ['js-string'] }` and instantiated with no imports, which links only when
 * the engine supplied `wasm:js-string` itself (an engine that ignores the option leaves the two
 * imports unresolved and instantiation throws).
 *
 * @example
 * const module = compileJsStringHot(bytes);
 * const hot = module ? instantiateHot(module) : instantiateHot(new WebAssembly.Module(plainBytes));
 */
export function compileJsStringHot(bytes: BufferSource): WebAssembly.Module | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
    const ModuleWithOptions = WebAssembly.Module as unknown as new (b: BufferSource, o: object) => WebAssembly.Module;
    const module = new ModuleWithOptions(bytes, JS_STRING_BUILTINS);
    const probe = new WebAssembly.Instance(module, {});
    if (typeof probe.exports['matchRouteStr'] !== 'function') return null;
    return module;
  } catch {
    return null;
  }
}

/** Whether `hot` is the js-string build (reads request paths in place). */
export function readsStringsInPlace(hot: HotExports): boolean {
  return typeof hot.matchRouteStr === 'function';
}

/**
 * Wraps the namespace of the wasm2js build (`import * as ns from './portico.wasm2js.mjs'`).
 * That module holds one instance per import, so every caller of the same namespace shares it.
 */
export function hotFromWasm2js(ns: unknown): HotExports {
  return checkExports(ns, 'portico.wasm2js.mjs');
}
