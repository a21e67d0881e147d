/**
 * Fastly Compute target, compiled to `bin/main.wasm` by js-compute-runtime. Fastly's JS engine
 * (SpiderMonkey in Wasm) has no `WebAssembly` global, so the hot path is binaryen's wasm2js
 * build of the same module. `fastly:*` imports live in this folder and nowhere else.
 */
import compiled from 'portico:config';
import hotNamespace from 'portico:hot-wasm2js';
import { createGateway } from '../../core/index.ts';
import { hotFromWasm2js } from '../../core/hot/index.ts';
import { createFastlyCapabilities, requestContext, type FastlyFetchEvent } from './capabilities.ts';

const gateway = createGateway(
  compiled,
  createFastlyCapabilities(hotFromWasm2js(hotNamespace as Parameters<typeof hotFromWasm2js>[0])),
);

addEventListener('fetch', (event) => {
  const fetchEvent = event as unknown as FastlyFetchEvent;
  fetchEvent.respondWith(gateway.fetch(fetchEvent.request, requestContext(fetchEvent)));
});
