// Bundled and run under miniflare (see counters-runtimes.test.ts): the Durable Object counter
// store, reached through the real PORTICO_COUNTERS binding, served to the contract cases.
import type { CounterConsume } from '../../core/capabilities.ts';
import {
  durableObjectCounters,
  PorticoCounters,
  type DurableObjectNamespaceLike,
} from '../../targets/cloudflare/counter-object.ts';

export { PorticoCounters };

export default {
  async fetch(request: Request, env: { PORTICO_COUNTERS: DurableObjectNamespaceLike }): Promise<Response> {
    const store = durableObjectCounters(env.PORTICO_COUNTERS, 4);
    const body = (await request.json()) as CounterConsume & { window: number; delta: number };
    const path = new URL(request.url).pathname;
    try {
      const result =
        path === '/consume' ? await store.consume(body) : await store.add(body.key, body.windowMs, body.window, body.delta);
      return Response.json(result);
    } catch (err) {
      return Response.json({ error: String(err) }, { status: 500 });
    }
  },
};
