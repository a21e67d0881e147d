/**
 * The hot path nobody had to load: what `new PorticoRouter()` uses when it is given none.
 * Where the engine can compile WebAssembly from bytes (Node, Deno, Bun, browsers), that is a new
 * instance of the Wasm module embedded in core/hot/_wasm-embedded.ts (compiled once, instantiated
 * per call, so each router's tables go away with it); where it cannot (no WebAssembly global, as
 * on Fastly and WASI-HTTP, or an embedder that forbids compiling bytes, as Cloudflare Workers and
 * Vercel Edge do), a new TypeScript twin. Targets load their own module and pass it in instead.
 * Where the engine has JS String Builtins (Node 24, Deno 2), the Wasm module is the js-string
 * build (_wasm-js-string-embedded.ts), which reads request paths in place; elsewhere the plain
 * build, which the wrapper copies paths into. Both are tried, not chosen by version.
 *
 * @example
 * const hot = createDefaultHot();
 * defaultHotKind(); // 'wasm-js-string' on Node 24, 'wasm' on Node 20
 */
import { HOT_WASM_BASE64 } from './_wasm-embedded.ts';
import { HOT_WASM_JS_STRING_BASE64 } from './_wasm-js-string-embedded.ts';
import { compileJsStringHot, instantiateHot } from './instantiate.ts';
import { createTwinHot } from './twin.ts';
import type { HotExports } from './types.ts';

/** The embedded module compiled; null once compiling it was refused or impossible. */
let compiled: WebAssembly.Module | null | undefined;
/** Whether `compiled` is the js-string build. */
let compiledJsString = false;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function compiledModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (typeof WebAssembly === 'object' && typeof WebAssembly.Module === 'function') {
    try {
      const jsString = compileJsStringHot(decodeBase64(HOT_WASM_JS_STRING_BASE64));
      compiledJsString = jsString !== null;
      compiled = jsString ?? new WebAssembly.Module(decodeBase64(HOT_WASM_BASE64));
    } catch {
      // Compiling bytes is refused here (e.g. "Wasm code generation disallowed by embedder").
    }
  }
  return compiled;
}

/** A new hot path: an instance of the embedded Wasm module where it compiles, else a twin. */
export function createDefaultHot(): HotExports {
  const module = compiledModule();
  return module ? instantiateHot(module) : createTwinHot();
}

/**
 * Which build createDefaultHot() gives on this engine: 'wasm-js-string' (reads paths in place),
 * 'wasm' (paths copied in) or 'twin'.
 */
export function defaultHotKind(): 'wasm-js-string' | 'wasm' | 'twin' {
  const module = compiledModule();
  return module ? (compiledJsString ? 'wasm-js-string' : 'wasm') : 'twin';
}
