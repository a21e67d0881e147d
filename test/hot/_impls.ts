// Loads every build of the hot path: the built Wasm (plain, paths copied in), the js-string
// Wasm build (paths read in place, where this engine has JS String Builtins), the built wasm2js
// module and the TypeScript twin. `npm test` builds wasm/build first (pretest).
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'vitest';
import { compileJsStringHot, createTwinHot, hotFromWasm2js, instantiateHot, type HotExports } from '../../core/hot/index.ts';

const buildDir = fileURLToPath(new URL('../../wasm/build/', import.meta.url));

export interface Impl {
  name: 'wasm' | 'wasm-js-string' | 'wasm2js' | 'twin';
  hot: HotExports;
}

export function loadWasmModule(): WebAssembly.Module {
  return new WebAssembly.Module(readFileSync(`${buildDir}portico.wasm`));
}

/** The js-string build compiled with the builtins, or null where this engine lacks them. */
export function loadJsStringModule(): WebAssembly.Module | null {
  return compileJsStringHot(readFileSync(`${buildDir}portico.js-string.wasm`));
}

/**
 * Why the js-string build does not run here (undefined when it does). The only reason is the
 * engine: it ignores `{ builtins: ['js-string'] }` (Node 20), so the module's two
 * `wasm:js-string` imports stay unresolved.
 */
export const JS_STRING_SKIP: string | undefined =
  loadJsStringModule() === null
    ? `this engine (Node ${process.versions.node}, V8 ${process.versions.v8}) has no JS String Builtins: compiling with { builtins: ['js-string'] } leaves wasm:js-string unresolved`
    : undefined;

export async function loadWasm2jsNamespace(): Promise<unknown> {
  return import(pathToFileURL(`${buildDir}portico.wasm2js.mjs`).href);
}

/** One fresh Wasm instance of each Wasm build this engine runs, the (per-process) wasm2js instance and a fresh twin. */
export async function loadImpls(): Promise<Impl[]> {
  const jsString = loadJsStringModule();
  return [
    { name: 'wasm', hot: instantiateHot(loadWasmModule()) },
    ...(jsString ? [{ name: 'wasm-js-string' as const, hot: instantiateHot(jsString) }] : []),
    { name: 'wasm2js', hot: hotFromWasm2js(await loadWasm2jsNamespace()) },
    { name: 'twin', hot: createTwinHot() },
  ];
}

/**
 * Registers, beside a `describe.each` over loadImpls(), the builds that cannot run on this
 * engine as skipped suites whose names say why, so that the report shows the gap.
 */
export function describeSkippedBuilds(title: string): void {
  if (JS_STRING_SKIP === undefined) return;
  describe.skip(`${title} on wasm-js-string (skipped: ${JS_STRING_SKIP})`, () => {
    it('runs only where the engine supplies wasm:js-string', () => {});
  });
}
