// Runs under the real Deno binary (see counters-runtimes.test.ts): Deno KV's counter store,
// served over loopback HTTP so the shared contract cases (which run in vitest) reach it. Every
// consume and add runs here, in Deno, against Deno KV.
import { createDenoKvCounters, type DenoAtomicKv } from '../../targets/deno/kv-counter-store.ts';

declare const Deno: {
  openKv(path?: string): Promise<unknown>;
  serve(
    options: { hostname: string; port: number; onListen(addr: { port: number }): void },
    handler: (r: Request) => Promise<Response>,
  ): unknown;
};

const store = createDenoKvCounters((await Deno.openKv(':memory:')) as DenoAtomicKv);
Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(JSON.stringify({ port })) }, async (request) => {
  const body = await request.json();
  const path = new URL(request.url).pathname;
  try {
    const result =
      path === '/consume' ? await store.consume(body) : await store.add(body.key, body.windowMs, body.window, body.delta);
    return Response.json(result);
  } catch (err) {
    return Response.json({ error: String(err) }, { status: 500 });
  }
});
