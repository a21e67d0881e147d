// The request step: route match + cache-key hash + bucket consume in one crossing.
import { describe, expect, it } from 'vitest';
import {
  compileRouteTable,
  consumeBucketWords,
  createBucketTable,
  createMatcher,
  createRequestStep,
  hashKeyInto,
  METHOD_BITS,
  type HotExports,
  type TableEntry,
} from '../../core/hot/index.ts';
import { describeSkippedBuilds, loadImpls } from './_impls.ts';

const impls = await loadImpls();

const seg = (value: string) => ({ kind: 'static' as const, value });
const param = { kind: 'param' as const };
const ENTRIES: TableEntry[] = [
  { host: { kind: 'any' }, methods: METHOD_BITS.GET, path: { kind: 'segments', segments: [seg('users'), param], rest: false } },
  { host: { kind: 'exact', value: 'api.test' }, methods: 0, path: { kind: 'segments', segments: [seg('health')], rest: false } },
  { host: { kind: 'any' }, methods: METHOD_BITS.POST, path: { kind: 'segments', segments: [seg('files')], rest: true } },
];
const blob = compileRouteTable(ENTRIES);

/** XXH64 of UTF-8(host) ++ UTF-8(path) with seed `bit`, through the module's plain hash64. */
function expectedHash(hot: HotExports, bit: number, host: string, path: string): [number, number] {
  const enc = new TextEncoder();
  const bytes = new Uint8Array([...enc.encode(host), ...enc.encode(path)]);
  const ptr = hot.reserve(bytes.length + 8);
  new Uint8Array(hot.memory.buffer).set(bytes, ptr);
  hot.hash64(ptr, bytes.length, bit, 0);
  const u32 = new Uint32Array(hot.memory.buffer);
  return [u32[hot.hashOutPtr() >>> 2]!, u32[(hot.hashOutPtr() >>> 2) + 1]!];
}

describe.each(impls.map((impl) => [impl.name, impl.hot] as const))('request step on %s', (_name, hot) => {
  it('answers the same entry and params as the matcher (from 0)', () => {
    const step = createRequestStep(hot, blob, createBucketTable(hot));
    const matcher = createMatcher(hot, blob);
    const cases: [number, string, string][] = [
      [METHOD_BITS.GET, 'x.test', '/users/42'],
      [METHOD_BITS.POST, 'x.test', '/users/42'],
      [METHOD_BITS.PUT, 'api.test', '/health'],
      [METHOD_BITS.PUT, 'other.test', '/health'],
      [METHOD_BITS.POST, '', '/files/a/b.txt'],
    ];
    for (const [bit, host, path] of cases) {
      const got = step.run(bit, host, path, 1000, 10, 5, 1);
      const want = matcher.match(bit, host, path, 0);
      expect(got).toBe(want);
      if (want >= 0) {
        const params = Array.from({ length: step.paramCount() }, (_, i) => path.slice(step.paramStart(i), step.paramEnd(i)));
        const wantParams = Array.from({ length: matcher.paramCount() }, (_, i) =>
          path.slice(matcher.paramStart(i), matcher.paramEnd(i)),
        );
        expect(params).toEqual(wantParams);
      }
    }
    expect(step.run(METHOD_BITS.GET, 'x.test', '/users/42', 1000, 10, 5, 1)).toBe(0);
    expect(step.paramCount()).toBe(1);
    expect('/users/42'.slice(step.paramStart(0), step.paramEnd(0))).toBe('42');
    expect(step.run(METHOD_BITS.POST, 'x.test', '/files/a/b', 1000, 10, 5, 1)).toBe(2);
    expect('/files/a/b'.slice(step.paramStart(0), step.paramEnd(0))).toBe('a/b');
  });

  it('hashes method (as seed), host and path: XXH64("abc", seed 0) for bit 0, "a", "bc"', () => {
    const step = createRequestStep(hot, blob, createBucketTable(hot));
    step.run(0, 'a', 'bc', 0, 1, 1, 0);
    expect(step.hashHex()).toBe('44bc2cf5ad770999');
    step.run(METHOD_BITS.GET, 'api.test', '/users/7', 0, 1, 1, 0);
    const get = step.hashHex();
    expect([step.hashLo(), step.hashHi()]).toEqual(expectedHash(hot, METHOD_BITS.GET, 'api.test', '/users/7'));
    step.run(METHOD_BITS.HEAD, 'api.test', '/users/7', 0, 1, 1, 0);
    expect(step.hashHex()).not.toBe(get);
    step.run(METHOD_BITS.GET, 'api.tes', 't/users/7', 0, 1, 1, 0);
    expect(step.hashHex()).toBe(get); // the key is the bytes host ++ path, no separator
  });

  it('hashes non-ASCII host and path as their separate UTF-8 encodings, params in string offsets', () => {
    const step = createRequestStep(hot, blob, createBucketTable(hot));
    expect(step.run(METHOD_BITS.GET, 'é.test', '/users/日本', 0, 1, 1, 0)).toBe(0);
    expect('/users/日本'.slice(step.paramStart(0), step.paramEnd(0))).toBe('日本');
    expect([step.hashLo(), step.hashHi()]).toEqual(expectedHash(hot, METHOD_BITS.GET, 'é.test', '/users/日本'));
    // A surrogate pair split between host and path stays two lone surrogates (U+FFFD each).
    step.run(METHOD_BITS.GET, 'h\ud83d', '\ude00/x', 0, 1, 1, 0);
    expect([step.hashLo(), step.hashHi()]).toEqual(expectedHash(hot, METHOD_BITS.GET, 'h\ud83d', '\ude00/x'));
  });

  it('consumes the bucket of the cache-key hash, per client, on hits and misses', () => {
    const buckets = createBucketTable(hot);
    const step = createRequestStep(hot, blob, buckets);
    const run = (path: string, now: number, client = 0) => {
      const idx = step.run(METHOD_BITS.GET, 'x.test', path, now, 1, 2, 1, client, 0);
      return { idx, allowed: step.allowed(), remaining: step.remaining(), waitMs: step.waitMs() };
    };
    expect(run('/users/1', 0)).toEqual({ idx: 0, allowed: true, remaining: 1, waitMs: 0 });
    expect(run('/users/1', 0)).toEqual({ idx: 0, allowed: true, remaining: 0, waitMs: 0 });
    expect(run('/users/1', 500)).toEqual({ idx: 0, allowed: false, remaining: 0.5, waitMs: 500 });
    // Another path, another client: other buckets. A miss spends tokens too.
    expect(run('/users/2', 500)).toMatchObject({ allowed: true, remaining: 1 });
    expect(run('/users/1', 500, 7)).toMatchObject({ allowed: true, remaining: 1 });
    expect(run('/nowhere', 500)).toEqual({ idx: -1, allowed: true, remaining: 1, waitMs: 0 });
    // The bucket key is (hashLo ^ clientLo, hashHi ^ clientHi): the plain consume sees the same bucket.
    run('/users/1', 1000, 7);
    const lo = step.hashLo() ^ 7;
    const hi = step.hashHi();
    expect(consumeBucketWords(buckets, lo >>> 0, hi, 1000, 1, 2, 0).remaining).toBe(0.5);
  });

  it('lets a client key from hashKeyInto pick the bucket', () => {
    const buckets = createBucketTable(hot);
    const step = createRequestStep(hot, blob, buckets);
    const client = hashKeyInto(hot, 'client-1', new Uint32Array(2));
    step.run(METHOD_BITS.GET, 'x.test', '/users/1', 0, 1, 1, 1, client[0]!, client[1]!);
    expect(step.allowed()).toBe(true);
    step.run(METHOD_BITS.GET, 'x.test', '/users/1', 0, 1, 1, 1, client[0]!, client[1]!);
    expect({ allowed: step.allowed(), waitMs: step.waitMs() }).toEqual({ allowed: false, waitMs: 1000 });
    step.run(METHOD_BITS.GET, 'x.test', '/users/1', 0, 1, 1, 1);
    expect(step.allowed()).toBe(true);
  });

  it('throws RangeError for bad bucket arguments, before matching or consuming anything', () => {
    const buckets = createBucketTable(hot);
    const step = createRequestStep(hot, blob, buckets);
    expect(step.run(METHOD_BITS.GET, '', '/users/ok', 0, 1, 1, 1)).toBe(0);
    expect(() => step.run(METHOD_BITS.GET, '', '/users/other', NaN, 1, 1, 1)).toThrow(RangeError);
    expect(() => step.run(METHOD_BITS.GET, '', '/users/other', 0, -1, 1, 1)).toThrow(/finite/);
    expect(() => step.run(METHOD_BITS.GET, '', '/users/other', 0, 1, 1, Infinity)).toThrow(RangeError);
    // Params are still those of the last success, and the bucket of '/users/other' is untouched.
    expect('/users/ok'.slice(step.paramStart(0), step.paramEnd(0))).toBe('ok');
    step.run(METHOD_BITS.GET, '', '/users/other', 0, 1, 1, 1);
    expect(step.remaining()).toBe(0);
    expect(step.allowed()).toBe(true);
  });

  it('refuses a bucket table of another module', () => {
    const other = impls.find((i) => i.hot !== hot)!.hot;
    expect(() => createRequestStep(hot, blob, createBucketTable(other))).toThrow(/another module/);
  });

  it('keeps params apart from a matcher sharing the module', () => {
    const step = createRequestStep(hot, blob, createBucketTable(hot));
    const matcher = createMatcher(hot, blob);
    step.run(METHOD_BITS.GET, '', '/users/alice', 0, 1, 1, 0);
    matcher.match(METHOD_BITS.GET, '', '/users/bob', 0);
    expect('/users/alice'.slice(step.paramStart(0), step.paramEnd(0))).toBe('alice');
    expect('/users/bob'.slice(matcher.paramStart(0), matcher.paramEnd(0))).toBe('bob');
  });

  it('grows the scratch for a long request', () => {
    const step = createRequestStep(hot, blob, createBucketTable(hot));
    const id = 'x'.repeat(10_000);
    expect(step.run(METHOD_BITS.GET, 'h.test', `/users/${id}`, 0, 1, 1, 0)).toBe(0);
    expect(step.paramEnd(0) - step.paramStart(0)).toBe(10_000);
    expect([step.hashLo(), step.hashHi()]).toEqual(expectedHash(hot, METHOD_BITS.GET, 'h.test', `/users/${id}`));
  });
});

describeSkippedBuilds('request step');
