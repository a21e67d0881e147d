// One boundary crossing per request: match the route, hash the cache key, consume a bucket.
import { B_MAGIC, BUCKET_MAGIC, STATUS_BAD_ARGUMENT, STATUS_BAD_TABLE } from './layout';
import { HASH_OUT } from './memory';
import { matchRoute } from './matcher';
import { hash64 } from './hash';
import { badBucketArguments, bucketConsume } from './bucket';


/**
 * In one call, over the request bytes at `key`: the host (hostLen bytes) immediately followed
 * by the path (pathLen bytes), with 3 readable bytes after them:
 * 1. matchRoute(table, methodBit, host, hostLen, path, pathLen, 0): params at paramsPtr()
 *    (a miss leaves them alone);
 * 2. the cache-key hash: XXH64 of the hostLen + pathLen bytes at `key` with seed methodBit
 *    (high seed word 0), at hashOutPtr() as (low u32, high u32);
 * 3. bucketConsume on the bucket table `buckets` with key (hashLo ^ clientLo, hashHi ^ clientHi)
 *    and (nowMs, ratePerSecond, burst, cost): remaining and waitMs at bucketOutPtr(). The bucket
 *    is consumed whether or not a route matched.
 * @returns ((entry index + 1) << 1) | allowed, so >= 0 (entry index -1 for no match); or
 *   STATUS_BAD_TABLE (-2: not a bucket table) / STATUS_BAD_ARGUMENT (-3: bucket arguments not
 *   finite or negative), checked first: then nothing is matched, hashed or consumed.
 */
export function requestStep(
  table: u32, buckets: u32, methodBit: u32, key: u32, hostLen: u32, pathLen: u32,
  clientLo: u32, clientHi: u32, nowMs: f64, ratePerSecond: f64, burst: f64, cost: f64,
): i32 {
  if (load<u32>(buckets, B_MAGIC) != BUCKET_MAGIC) return STATUS_BAD_TABLE;
  if (badBucketArguments(nowMs, ratePerSecond, burst, cost)) return STATUS_BAD_ARGUMENT;
  const idx = matchRoute(table, methodBit, key, hostLen, key + hostLen, pathLen, 0);
  hash64(key, hostLen + pathLen, methodBit, 0);
  const lo = load<u32>(HASH_OUT) ^ clientLo;
  const hi = load<u32>(HASH_OUT, 4) ^ clientHi;
  const allowed = bucketConsume(buckets, lo, hi, nowMs, ratePerSecond, burst, cost);
  return ((idx + 1) << 1) | allowed;
}
