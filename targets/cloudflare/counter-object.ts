/**
 * Cloudflare's shared counters: Durable Objects, one per key shard. A key's shard is a hash of
 * the key modulo `shards`; every consume of that key goes to that one object, which applies
 * core's `stepCounter` to the key's state in its storage. A Durable Object handles one request
 * at a time here (each operation waits for the one before it), so a read-modify-write of a
 * counter is never interleaved with another: the limit holds across every location.
 *
 * Cloudflare's own rate-limit binding (`[[unsafe.bindings]] type = "ratelimit"`, `limit()`)
 * counts per location: N locations admit up to N × the limit, with a 10 s or 60 s period only.
 * It would fit `local`-like accuracy at the edge, not `strict`; portico uses Durable Objects for
 * approximate and strict.
 *
 * Deploying: export `PorticoCounters` from the worker's entry and bind it as PORTICO_COUNTERS
 * (`[[durable_objects.bindings]] name = "PORTICO_COUNTERS" class_name = "PorticoCounters"`,
 * with a migration that lists the class).
 */
import type { CounterConsume, CounterStore, WindowTotals } from '../../core/capabilities.ts';
import { stepCounter } from '../../core/stores/counter-math.ts';

/** The Durable Object state methods used here. */
interface DurableObjectStateLike {
  storage: {
    get<T>(key: string): Promise<T | undefined>;
    put(key: string, value: unknown): Promise<void>;
  };
}

/** The namespace binding methods used here. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(url: string, init: RequestInit): Promise<Response> };
}

interface Stored {
  state: number[];
  expires: number;
}

/** The Durable Object class: bind it as PORTICO_COUNTERS. */
export class PorticoCounters {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly ctx: DurableObjectStateLike) {}

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async read(key: string, now: number): Promise<number[] | null> {
    const s = await this.ctx.storage.get<Stored>(key);
    return s && s.expires > now ? s.state : null;
  }

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const body = (await request.json()) as CounterConsume & { windowMs: number; window: number; delta: number };
    const now = Date.now();
    if (path === '/consume') {
      const decision = await this.serial(async () => {
        const step = stepCounter(await this.read(body.key, now), body);
        await this.ctx.storage.put(body.key, { state: step.state, expires: now + step.ttlMs } satisfies Stored);
        return step.decision;
      });
      return Response.json(decision);
    }
    const totals = await this.serial(async (): Promise<WindowTotals> => {
      const k = `${body.key}#${body.window}`;
      const current = ((await this.read(k, now))?.[0] ?? 0) + body.delta;
      await this.ctx.storage.put(k, { state: [current], expires: now + 2 * body.windowMs } satisfies Stored);
      const previous = (await this.read(`${body.key}#${body.window - 1}`, now))?.[0] ?? 0;
      return { current, previous };
    });
    return Response.json(totals);
  }
}

/** FNV-1a over UTF-16 units: spreads keys over the shards. */
function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** A CounterStore over the PORTICO_COUNTERS namespace, `shards` objects (default 64). */
export function durableObjectCounters(ns: DurableObjectNamespaceLike, shards = 64): CounterStore {
  // Ids are plain values and kept; a stub is an I/O object of the request that made it, which
  // Workers refuse to use from another request ("Cannot perform I/O on behalf of a different
  // request"), so each call gets its own.
  const ids = new Map<number, unknown>();
  const stub = (key: string) => {
    const shard = shardOf(key, shards);
    let id = ids.get(shard);
    if (id === undefined) {
      id = ns.idFromName(`portico-counters-${shard}`);
      ids.set(shard, id);
    }
    return ns.get(id);
  };
  const call = async <T>(key: string, path: string, body: unknown): Promise<T> => {
    const res = await stub(key).fetch(`https://counters.portico.invalid${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`counter object answered ${res.status}`);
    return (await res.json()) as T;
  };
  return {
    consume: (c) => call(c.key, '/consume', c),
    add: (key, windowMs, window, delta) => call(key, '/add', { key, windowMs, window, delta }),
  };
}
