/**
 * Cloudflare Workers target: a module worker. The hot-path Wasm is imported as a module
 * (`import m from './portico.wasm'`), because Workers forbid compiling Wasm from bytes at run
 * time and module workers reject a `wasmModule` binding.
 */
import compiled from 'portico:config';
import hotModule from 'portico:hot-module';
import { createGateway, type Gateway } from '../../core/index.ts';
import { instantiateHot } from '../../core/hot/index.ts';
import { createWorkerCapabilities, requestContext, type WorkerEnv, type WorkerExecutionContext } from './capabilities.ts';

// The Durable Object class of the shared rate-limit counters (bound as PORTICO_COUNTERS).
export { PorticoCounters } from './counter-object.ts';

const hot = instantiateHot(hotModule);
let gateway: Gateway | undefined;

export default {
  fetch(request: Request, env: WorkerEnv, ctx: WorkerExecutionContext): Promise<Response> {
    // Bindings arrive with the first request and stay the same for the isolate's life.
    gateway ??= createGateway(compiled, createWorkerCapabilities(hot, env));
    return gateway.fetch(request, requestContext(request, ctx, env));
  },
};
