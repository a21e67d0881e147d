// PorticoRouter: HotRouter (hono-router.ts) with a default hot path, for use outside the gateway.
import { createDefaultHot } from './default-hot.ts';
import { HotRouter } from './hono-router.ts';
import type { HotExports } from './types.ts';

/**
 * A Hono Router on the hot path (see HotRouter in hono-router.ts for what it supports).
 *
 * @example
 * const app = new Hono({ router: new PorticoRouter() }); // its own Wasm instance on Node
 * const onWorkers = new Hono({ router: new PorticoRouter(instantiateHot(wasmModule)) });
 */
export class PorticoRouter<T> extends HotRouter<T> {
  /**
   * @param hot the hot-path module to match in; default: createDefaultHot(), an instance of its
   *   own of the embedded Wasm module where the engine compiles WebAssembly from bytes (Node,
   *   Deno, Bun), else a TypeScript twin.
   */
  constructor(hot?: HotExports) {
    super(hot ?? createDefaultHot());
  }
}
