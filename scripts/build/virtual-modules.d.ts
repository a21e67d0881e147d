/**
 * Modules that exist only inside a `portico build` bundle. The build (scripts/build/bundle.ts)
 * resolves them per target, so target entries can import what the platform delivers without
 * knowing how it was produced.
 */

/** The compiled config, validated and precomputed at build time (scripts/build/run-build.ts). */
declare module 'portico:config' {
  import type { CompiledConfig } from '../../core/config/compile.ts';
  const compiled: CompiledConfig;
  export default compiled;
}

/**
 * The hot-path `WebAssembly.Module`, imported the way the platform compiles Wasm ahead of time:
 * `./portico.wasm` on Cloudflare (workerd forbids compiling bytes), `./portico.wasm?module` on
 * Vercel Edge.
 */
declare module 'portico:hot-module' {
  const module: WebAssembly.Module;
  export default module;
}

/** The wasm2js build of the hot path, for engines without `WebAssembly` (Fastly, WASI). */
declare module 'portico:hot-wasm2js' {
  /** The module namespace of wasm/build/portico.wasm2js.mjs. */
  const namespace: Record<string, unknown>;
  export default namespace;
}
