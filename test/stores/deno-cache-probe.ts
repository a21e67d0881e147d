// Runs under the real Deno binary (see web-cache-store.test.ts): the Web Cache store over
// Deno's own `caches`, and Deno's capability provider picking it up.
import { createWebCacheStore } from '../../core/stores/web-cache-store.ts';
import { createDenoCapabilities } from '../../targets/deno/capabilities.ts';
import { createTwinHot } from '../../core/hot/twin.ts';

let clock = 1_000_000;
const store = createWebCacheStore(await caches.open('portico-probe'), () => clock);
const results: Record<string, unknown> = {};

await store.put(
  'GET api.example.com/a?x=1',
  new Response('hello', {
    status: 203,
    headers: { 'content-type': 'text/plain', 'cache-control': 'public, max-age=5', 'x-one': '1' },
  }),
  { ttlSeconds: 10 },
);
const hit = await store.get('GET api.example.com/a?x=1');
results.hit = hit && {
  status: hit.status,
  body: await hit.text(),
  type: hit.headers.get('content-type'),
  cc: hit.headers.get('cache-control'),
  internal: hit.headers.get('x-portico-expires'),
};
results.miss = await store.get('GET api.example.com/other');
clock += 11_000;
results.expired = await store.get('GET api.example.com/a?x=1');
await store.put('k2', new Response('x'), { ttlSeconds: 60 });
results.deleted = await store.delete('k2');
results.afterDelete = await store.get('k2');
const { capabilities } = await createDenoCapabilities(createTwinHot());
results.capabilityHasCache = typeof capabilities.stores?.cache?.get === 'function';
console.log(JSON.stringify(results));
