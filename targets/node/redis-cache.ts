/**
 * Node's shared response cache and purge fan-out over Redis (the `stores.redis` server):
 * - `createRedisCacheStore`: entries shared by every process, one Redis string per entry
 *   (`SET key value PX ttl`), the value a small JSON head (status, headers) then the body bytes;
 * - `withRedisPurgeFanOut`: any CacheStore (the memory LRU by default) plus Redis pub/sub on one
 *   channel, so a purge made on one process reaches every process within a pub/sub hop.
 *
 * Client: `@redis/client`, as redis-store.ts (the counters) uses it and for the same reasons; a
 * subscriber needs its own connection (a connection in subscribe mode takes no other command).
 */
import type { CacheStore, LogRecord } from '../../core/capabilities.ts';
import type { CompiledConfig } from '../../core/config/index.ts';
import type { CompiledCache } from '../../core/policies/cache/index.ts';
import { connectRedis } from './redis-connect.ts';
import { createMemoryCache } from '../../core/stores/index.ts';

export interface RedisCacheOptions {
  /** `redis://[user:password@]host:port[/db]`. Never logged. */
  url: string;
  /** Prefix of every key and of the purge channel, default `portico:`. */
  keyPrefix?: string;
  log?: (record: LogRecord) => void;
  /** Time to connect, in milliseconds, default 1000. */
  connectTimeoutMs?: number;
}

export interface ClosableCacheStore extends CacheStore {
  close(): Promise<void>;
}

const connect = (options: RedisCacheOptions) => connectRedis({ ...options, what: 'cache' });

/** Value layout: 4 bytes (big-endian) head length, the JSON head, then the body. */
function encode(status: number, statusText: string, headers: [string, string][], body: Uint8Array): Buffer {
  const head = Buffer.from(JSON.stringify({ s: status, t: statusText, h: headers }));
  const out = Buffer.allocUnsafe(4 + head.byteLength + body.byteLength);
  out.writeUInt32BE(head.byteLength, 0);
  head.copy(out, 4);
  out.set(body, 4 + head.byteLength);
  return out;
}

function decode(value: Buffer): Response | null {
  if (value.byteLength < 4) return null;
  const n = value.readUInt32BE(0);
  try {
    const head = JSON.parse(value.subarray(4, 4 + n).toString('utf8')) as { s: number; t: string; h: [string, string][] };
    const body = value.subarray(4 + n);
    const nullBody = head.s === 204 || head.s === 304;
    return new Response(nullBody ? null : new Uint8Array(body), { status: head.s, statusText: head.t, headers: head.h });
  } catch {
    return null;
  }
}

/** @example const cache = await createRedisCacheStore({ url: process.env.REDIS_URL! }); */
export async function createRedisCacheStore(options: RedisCacheOptions): Promise<ClosableCacheStore> {
  const prefix = `${options.keyPrefix ?? 'portico:'}cache:`;
  const { client, mod } = await connect(options);
  const bytes = client.withTypeMapping({ [mod.RESP_TYPES.BLOB_STRING]: Buffer });
  const fanOut = await redisPurgeChannel(options);
  return {
    async get(key) {
      const value = (await bytes.get(prefix + key)) as Buffer | null;
      return value === null ? null : decode(value);
    },
    async put(key, response, { ttlSeconds }) {
      const body = new Uint8Array(await response.arrayBuffer());
      if (ttlSeconds <= 0) return;
      const headers: [string, string][] = [];
      response.headers.forEach((v, k) => {
        if (k !== 'set-cookie') headers.push([k, v]);
      });
      for (const c of response.headers.getSetCookie()) headers.push(['set-cookie', c]);
      await client.set(prefix + key, encode(response.status, response.statusText, headers, body), {
        expiration: { type: 'PX', value: Math.ceil(ttlSeconds * 1000) },
      });
    },
    async delete(key) {
      return (await client.del(prefix + key)) > 0;
    },
    publishPurge: fanOut.publish,
    onPurge: fanOut.subscribe,
    async close() {
      await fanOut.close();
      await client.close().catch(() => client.destroy());
    },
  };
}

/** A purge channel on Redis: publish on the main connection, listen on a second one. */
async function redisPurgeChannel(options: RedisCacheOptions): Promise<{
  publish(message: string): Promise<void>;
  subscribe(listener: (message: string) => void): void;
  close(): Promise<void>;
}> {
  const channel = `${options.keyPrefix ?? 'portico:'}cache-purge`;
  const { client: pub } = await connect(options);
  const { client: sub } = await connect(options);
  const listeners: ((m: string) => void)[] = [];
  // Messages this process published come back to it too; the log applying one twice is harmless.
  await sub.subscribe(channel, (message: string) => {
    for (const l of listeners) l(message);
  });
  return {
    async publish(message) {
      await pub.publish(channel, message);
    },
    subscribe(listener) {
      listeners.push(listener);
    },
    async close() {
      await sub.close().catch(() => sub.destroy());
      await pub.close().catch(() => pub.destroy());
    },
  };
}

/** Any store, with purges fanned out to every process through Redis pub/sub. */
export async function withRedisPurgeFanOut(store: CacheStore, options: RedisCacheOptions): Promise<ClosableCacheStore> {
  const channel = await redisPurgeChannel(options);
  return {
    get: (k) => store.get(k),
    put: (k, r, o) => store.put(k, r, o),
    // The memory LRU's parts, so that a hit is served without a Response here too.
    ...(store.peek ? { peek: store.peek.bind(store) } : {}),
    ...(store.putParts ? { putParts: store.putParts.bind(store) } : {}),
    delete: (k) => store.delete(k),
    publishPurge: channel.publish,
    onPurge: channel.subscribe,
    close: channel.close,
  };
}

/**
 * The cache store the config asks for on Node: Redis (`cacheStore.kind: "redis"`), or the memory
 * LRU with Redis purge fan-out (`stores.redis` set), or undefined (core's memory LRU, this
 * process only). The URL comes from `secrets` (process.env by default) and is never logged.
 */
export async function nodeCacheStore(
  config: CompiledConfig,
  secrets: (name: string) => string | undefined,
  log?: (record: LogRecord) => void,
): Promise<ClosableCacheStore | undefined> {
  let cache: CompiledCache | undefined;
  for (const route of config.routes) for (const p of route.policies) if (p.name === 'cache') cache ??= p.config as CompiledCache;
  if (!cache) return undefined;
  const redis = cache.store.redis;
  if (!redis || (cache.store.kind === 'memory' && !cache.store.purgeFanOut)) return undefined;
  const url = secrets(redis.url.env);
  if (!url) throw new Error(`stores.redis.url: the environment variable ${redis.url.env} is not set`);
  const options = { url, ...(redis.keyPrefix ? { keyPrefix: redis.keyPrefix } : {}), ...(log ? { log } : {}) };
  if (cache.store.kind === 'redis') return createRedisCacheStore(options);
  return withRedisPurgeFanOut(createMemoryCache({ maxBytes: cache.store.maxBytes, maxEntries: cache.store.maxEntries }), options);
}
