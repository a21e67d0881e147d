// Runs under the real Deno binary (see web-stores.test.ts): the Web Cache store over Deno's own
// `caches`, served over loopback HTTP so the shared contract cases (which run in vitest) reach it.
import { createWebCacheStore } from '../../core/stores/web-cache-store.ts';
import { serveCacheStoreRelay } from './_store-relay.ts';

declare const Deno: {
  serve(
    options: { hostname: string; port: number; onListen(addr: { port: number }): void },
    handler: (r: Request) => Promise<Response>,
  ): unknown;
};
declare const caches: { open(name: string): Promise<Parameters<typeof createWebCacheStore>[0]> };

const clock = { now: Date.now() };
const store = createWebCacheStore(await caches.open(`portico-contract-${clock.now}`), () => clock.now);
Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(JSON.stringify({ port })) }, (request) =>
  serveCacheStoreRelay(store, clock, request).catch((err) => new Response(String(err), { status: 500 })),
);
