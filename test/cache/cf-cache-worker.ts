// A worker for miniflare (see web-stores.test.ts): the Web Cache store over `caches.default`,
// answering the shared contract cases over dispatchFetch.
import { createWebCacheStore } from '../../core/stores/web-cache-store.ts';
import { serveCacheStoreRelay } from './_store-relay.ts';

declare const caches: { default: Parameters<typeof createWebCacheStore>[0] };
const clock = { now: Date.now() };

export default {
  async fetch(request: Request): Promise<Response> {
    const store = createWebCacheStore(caches.default, () => clock.now);
    return serveCacheStoreRelay(store, clock, request).catch((err) => new Response(String(err), { status: 500 }));
  },
};
