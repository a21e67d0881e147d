/**
 * One Redis connection as the Node stores want it (the rate-limit counters in redis-store.ts,
 * the cache store and the purge channel in redis-cache.ts): the client package loaded on first
 * use, no offline queue (a command fails at once while Redis is away, so a dead Redis costs a
 * request little), reconnects at most every 500 ms, an outage logged once and its end noted,
 * and a Redis that is down at startup treated like any outage (the connection keeps trying in
 * the background after `connectTimeoutMs`).
 */
import type { LogRecord } from '../../core/capabilities.ts';

// Loaded on first use, by a specifier the bundler cannot follow: the client (about 900 KB) stays
// out of the Node bundle and is read from node_modules only by a config that names a Redis
// (`@redis/client` is a dependency of portico, so an installed gateway has it).
const REDIS_CLIENT: string = '@redis/client';

export type RedisModule = typeof import('@redis/client');

export interface RedisConnectOptions {
  /** `redis://[user:password@]host:port[/db]`. Never logged. */
  url: string;
  log?: (record: LogRecord) => void;
  /** Time to connect, in milliseconds, default 1000. */
  connectTimeoutMs?: number;
  /** What the connection serves, in its log lines (`redis cache connection error`). */
  what?: string;
}

export async function connectRedis(options: RedisConnectOptions) {
  let mod: RedisModule;
  try {
    mod = (await import(REDIS_CLIENT)) as RedisModule;
  } catch (err) {
    throw new Error(
      `stores.redis: the Redis client package is not installed next to the gateway (npm install ${REDIS_CLIENT}@6.3.1)`,
      { cause: err },
    );
  }
  const log = options.log ?? (() => {});
  const name = options.what ? `redis ${options.what} connection` : 'redis connection';
  const client = mod.createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 1000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 4), 500),
    },
  });
  let reported = false;
  // Without a listener node-redis rethrows socket errors; the guard logs the outage once.
  client.on('error', (err: unknown) => {
    if (!reported) log({ level: 'warn', msg: `${name} error`, cause: err instanceof Error ? err.message : String(err) });
    reported = true;
  });
  client.on('ready', () => {
    if (reported) log({ level: 'info', msg: `${name} ready again` });
    reported = false;
  });
  client.on('reconnecting', () => {
    if (process.env['PORTICO_DEBUG_REDIS']) log({ level: 'debug', msg: 'redis reconnecting' });
  });
  const connecting = client.connect().catch(() => undefined);
  await Promise.race([connecting, new Promise((r) => setTimeout(r, options.connectTimeoutMs ?? 1000))]);
  return { client, mod };
}

export type RedisClient = Awaited<ReturnType<typeof connectRedis>>['client'];
