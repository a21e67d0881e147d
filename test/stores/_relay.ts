/**
 * A CounterStore in the test process that hands each call to a store running in another runtime
 * (real Deno, workerd under miniflare) over loopback HTTP: the store's code runs there; this only
 * carries the arguments and the answer.
 */
import type { CounterStore } from '../../core/capabilities.ts';

export function relayCounterStore(send: (path: string, body: unknown) => Promise<Response>): CounterStore {
  const call = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await send(path, body);
    const json = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(json.error ?? `status ${res.status}`);
    return json;
  };
  return {
    consume: (request) => call('/consume', request),
    add: (key, windowMs, window, delta) => call('/add', { key, windowMs, window, delta }),
  };
}
