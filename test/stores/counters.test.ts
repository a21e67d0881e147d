/** The CounterStore contract against the memory store and a real redis-server. */
import { afterAll, beforeAll, describe } from 'vitest';
import { createMemoryCounters } from '../../core/stores/index.ts';
import { createRedisCounters, type RedisCounterStore } from '../../targets/node/redis-store.ts';
import { runCounterStoreCases } from './counter-cases.ts';
import { startRedisServer, type RedisServer } from './_redis.ts';

describe('memory counters', () => {
  runCounterStoreCases({ make: () => createMemoryCounters({ now: () => 1_800_000_000_000 }) });
});

describe('Redis counters (real redis-server)', () => {
  let redis: RedisServer;
  let store: RedisCounterStore;
  beforeAll(async () => {
    redis = await startRedisServer();
    store = await createRedisCounters({ url: redis.url });
  });
  afterAll(async () => {
    await store?.close();
    await redis?.stop();
  });
  runCounterStoreCases({ make: () => store });
});
