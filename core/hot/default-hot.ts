/**
 * The hot path nobody had to load: what `new PorticoRouter()` uses when it is given none.
 * Where the engine can compile WebAssembly from bytes (Node, Deno, Bun, browsers), that is the
 * Wasm module, instantiated once from the copy embedded in core/hot/_wasm-embedded.ts and shared
 * by every caller; where it cannot (no WebAssembly global, as on Fastly and WASI-HTTP, or an
 * embedder that forbids compiling bytes, as Cloudflare Workers and Vercel Edge do), the
 * TypeScript twin. Targets load their own module and pass it in instead.
 *
 * @example
 * const hot = defaultHot();
 * defaultHotKind(); // 'wasm' on Node
 */
import { HOT_WASM_BASE64 } from './_wasm-embedded.ts';
import { instantiateHot } from './instantiate.ts';
import { createTwinHot } from './twin.ts';
import type { HotExports } from './types.ts';

let shared: { hot: HotExports; kind: 'wasm' | 'twin' } | undefined;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function load(): { hot: HotExports; kind: 'wasm' | 'twin' } {
  if (typeof WebAssembly === 'object' && typeof WebAssembly.Module === 'function') {
    try {
      return { hot: instantiateHot(new WebAssembly.Module(decodeBase64(HOT_WASM_BASE64))), kind: 'wasm' };
    } catch {
      // Compiling bytes is refused here (e.g. "Wasm code generation disallowed by embedder").
    }
  }
  return { hot: createTwinHot(), kind: 'twin' };
}

/** The shared default hot path: the embedded Wasm module where it compiles, else the twin. */
export function defaultHot(): HotExports {
  shared ??= load();
  return shared.hot;
}

/** Which build defaultHot() gives on this engine. */
export function defaultHotKind(): 'wasm' | 'twin' {
  shared ??= load();
  return shared.kind;
}
