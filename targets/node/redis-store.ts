/**
 * Node's shared counters: a Redis server (the `stores.redis` block of the config, its URL read
 * from the environment).
 *
 * Client: `@redis/client` (node-redis's core, maintained by Redis). Commands issued in the same
 * tick go out together over its one connection (auto-pipelining), so concurrent requests share
 * one socket and one write without a pool; ioredis does the same only with `enableAutoPipelining`
 * and is in maintenance mode. `disableOfflineQueue` makes a call fail at once while the server is
 * away instead of queueing behind the reconnect, so a dead Redis costs a request at most the
 * guard's timeout (core/stores/guarded-counters.ts), and nothing once the breaker is open.
 *
 * Each consume is one round trip: EVALSHA of a Lua script that is core/stores/counter-math.ts,
 * `stepCounter`, step for step (Redis runs a script atomically, so no other instance's consume
 * can interleave). The script is loaded on first use; a NOSCRIPT reply (the server restarted, or
 * SCRIPT FLUSH) is answered with EVAL, which also caches it again.
 */
import { createHash } from 'node:crypto';
import { connectRedis } from './redis-connect.ts';
import type { CounterStore, LogRecord, WindowTotals } from '../../core/capabilities.ts';
import type { CompiledConfig } from '../../core/config/index.ts';
import type { CompiledRateLimit } from '../../core/policies/ratelimit/index.ts';

/**
 * KEYS[1] the counter; ARGV: algorithm ("tokenBucket" | "slidingWindow"), limit, windowMs, cost,
 * nowMs. State is kept as text: "tokens last" or "window current previous", with PX expiry.
 * Returns { allowed 0|1, remaining, retryAfterMs, resetMs }, all integers (Redis truncates Lua
 * numbers in replies, so the script rounds exactly where the TypeScript does).
 */
export const CONSUME_SCRIPT = `
local algorithm = ARGV[1]
local limit = tonumber(ARGV[2])
local windowMs = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local raw = redis.call('GET', KEYS[1])
local s = {}
if raw then for n in string.gmatch(raw, '%S+') do s[#s + 1] = tonumber(n) end end
if algorithm == 'tokenBucket' then
  local rate = limit / windowMs
  local tokens = limit
  local last = now
  if #s >= 2 then
    tokens = s[1]
    last = s[2]
    if now > last then
      tokens = math.min(limit, tokens + (now - last) * rate)
      last = now
    end
  end
  local allowed = cost <= tokens
  if allowed then tokens = tokens - cost end
  local retry = 0
  if not allowed then
    if cost > limit then retry = -1 else retry = math.ceil((cost - tokens) / rate) end
  end
  local reset = math.ceil((limit - tokens) / rate)
  redis.call('SET', KEYS[1], string.format('%.17g %.17g', tokens, last), 'PX', math.max(1, reset))
  return { allowed and 1 or 0, math.floor(tokens), retry, reset }
end
local w = math.floor(now / windowMs)
local current = 0
local previous = 0
if #s >= 3 then
  if s[1] == w then current = s[2]; previous = s[3]
  elseif s[1] == w - 1 then previous = s[2] end
end
local f = (now - w * windowMs) / windowMs
local estimate = previous * (1 - f) + current
local allowed = estimate + cost <= limit
if allowed then current = current + cost end
local after = estimate
if allowed then after = estimate + cost end
local remaining = math.max(0, math.floor(limit - after))
local retry = 0
if not allowed then
  if cost > limit then retry = -1 else
    local room = limit - current - cost
    if room >= 0 and previous > 0 then
      retry = math.ceil((1 - room / previous - f) * windowMs)
    else
      local h = 0
      if current > 0 then h = math.max(0, 1 - (limit - cost) / current) end
      retry = math.ceil((1 - f + h) * windowMs)
    end
    retry = math.max(1, retry)
  end
end
local reset = 0
if current > 0 then reset = math.ceil((2 - f) * windowMs) elseif previous > 0 then reset = math.ceil((1 - f) * windowMs) end
redis.call('SET', KEYS[1], string.format('%.17g %.17g %.17g', w, current, previous), 'PX', math.max(1, math.ceil((2 - f) * windowMs)))
return { allowed and 1 or 0, remaining, retry, reset }
`;

/** KEYS[1] this window's counter, KEYS[2] the previous window's; ARGV: delta, windowMs. */
export const ADD_SCRIPT = `
local current = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
return { current, previous }
`;

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

export interface RedisCounterOptions {
  /** `redis://[user:password@]host:port[/db]`. Never logged. */
  url: string;
  /** Prefix of every key, default `portico:`. */
  keyPrefix?: string;
  log?: (record: LogRecord) => void;
  /** Time to connect, in milliseconds, default 1000. */
  connectTimeoutMs?: number;
}

export interface RedisCounterStore extends CounterStore {
  close(): Promise<void>;
}

/** @example const counters = await createRedisCounters({ url: process.env.REDIS_URL! }); */
export async function createRedisCounters(options: RedisCounterOptions): Promise<RedisCounterStore> {
  const prefix = options.keyPrefix ?? 'portico:';
  const { client } = await connectRedis(options);

  const consumeSha = sha1(CONSUME_SCRIPT);
  const addSha = sha1(ADD_SCRIPT);

  async function run(script: string, sha: string, keys: string[], args: string[]): Promise<number[]> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return (await client.sendCommand(['EVALSHA', sha, ...tail])) as number[];
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return (await client.sendCommand(['EVAL', script, ...tail])) as number[];
    }
  }

  return {
    async consume(c) {
      const [allowed, remaining, retryAfterMs, resetMs] = await run(
        CONSUME_SCRIPT,
        consumeSha,
        [prefix + c.key],
        [c.algorithm, String(c.limit), String(c.windowMs), String(c.cost), String(c.nowMs)],
      );
      return { allowed: allowed === 1, remaining: remaining!, retryAfterMs: retryAfterMs!, resetMs: resetMs! };
    },
    async add(key, windowMs, window, delta): Promise<WindowTotals> {
      const [current, previous] = await run(
        ADD_SCRIPT,
        addSha,
        [`${prefix}${key}#${window}`, `${prefix}${key}#${window - 1}`],
        [String(delta), String(windowMs)],
      );
      return { current: current!, previous: previous! };
    },
    async close() {
      await client.close().catch(() => client.destroy());
    },
  };
}

/**
 * The Redis counters the config asks for (`stores.redis`), or undefined when it asks for none.
 * The URL comes from `secrets` (process.env by default) and is never logged.
 */
export async function nodeCounterStore(
  config: CompiledConfig,
  secrets: (name: string) => string | undefined,
  log?: (record: LogRecord) => void,
): Promise<RedisCounterStore | undefined> {
  let redis: CompiledRateLimit['stores']['redis'] = null;
  for (const route of config.routes) {
    for (const p of route.policies) if (p.name === 'rateLimit') redis ??= (p.config as CompiledRateLimit).stores.redis;
  }
  if (!redis) return undefined;
  const url = secrets(redis.url.env);
  if (!url) throw new Error(`stores.redis.url: the environment variable ${redis.url.env} is not set`);
  return createRedisCounters({ url, keyPrefix: redis.keyPrefix, ...(log ? { log } : {}) });
}
