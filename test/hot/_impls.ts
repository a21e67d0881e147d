// Loads the three implementations of the hot path: the built Wasm, the built wasm2js module
// and the TypeScript twin. `npm test` builds wasm/build first (pretest).
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTwinHot, hotFromWasm2js, instantiateHot, type HotExports } from '../../core/hot/index.ts';

const buildDir = fileURLToPath(new URL('../../wasm/build/', import.meta.url));

export interface Impl {
  name: 'wasm' | 'wasm2js' | 'twin';
  hot: HotExports;
}

export function loadWasmModule(): WebAssembly.Module {
  return new WebAssembly.Module(readFileSync(`${buildDir}portico.wasm`));
}

export async function loadWasm2jsNamespace(): Promise<unknown> {
  return import(pathToFileURL(`${buildDir}portico.wasm2js.mjs`).href);
}

/** One fresh Wasm instance, the (per-process) wasm2js instance and a fresh twin. */
export async function loadImpls(): Promise<Impl[]> {
  return [
    { name: 'wasm', hot: instantiateHot(loadWasmModule()) },
    { name: 'wasm2js', hot: hotFromWasm2js(await loadWasm2jsNamespace()) },
    { name: 'twin', hot: createTwinHot() },
  ];
}
