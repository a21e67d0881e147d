/**
 * Loads the hot path on Node: the Wasm module from wasm/build (built by `npm run build:wasm`,
 * which `npm ci` runs through `prepare`), its wasm2js build, or the TypeScript twin.
 *
 * 'wasm' is the js-string build (portico.js-string.wasm, which reads request paths in place)
 * where this Node compiles it with JS String Builtins (Node 24 does; tried, not read from the
 * version), else the plain build (portico.wasm, paths copied in with charCodeAt/encodeInto, as
 * on Node 20). 'wasm-encode' is always the plain build.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileJsStringHot, createTwinHot, hotFromWasm2js, instantiateHot, type HotExports } from '../../core/hot/index.ts';

export type HotKind = 'wasm' | 'wasm-encode' | 'wasm2js' | 'twin';

const BUILD_DIR = new URL('../../wasm/build/', import.meta.url);

function built(name: string): URL {
  const url = new URL(name, BUILD_DIR);
  if (!existsSync(fileURLToPath(url))) {
    throw new Error(`${fileURLToPath(url)} is missing: run "npm run build:wasm" (npm ci runs it for you)`);
  }
  return url;
}

/** The hot path for Node. Default: the Wasm module. */
export async function loadNodeHot(kind: HotKind = 'wasm'): Promise<HotExports> {
  if (kind === 'twin') return createTwinHot();
  if (kind === 'wasm2js') return hotFromWasm2js(await import(built('portico.wasm2js.mjs').href));
  const jsString = fileURLToPath(new URL('portico.js-string.wasm', BUILD_DIR));
  // A package without the js-string build (an older `files` list) still loads the plain one.
  if (kind === 'wasm' && existsSync(jsString)) {
    const module = compileJsStringHot(readFileSync(jsString));
    if (module) return instantiateHot(module);
  }
  return instantiateHot(new WebAssembly.Module(readFileSync(built('portico.wasm'))));
}
