// Differential tests: the Wasm builds (plain, and js-string where the engine has JS String
// Builtins), the wasm2js build and the TypeScript twin must agree on
// every match (index and param offsets), every hash and every bucket decision, on random
// inputs; the matcher must also agree with the naive reference matcher in _reference.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  compileRouteTable,
  consumeBucketWords,
  createBucketTable,
  createMatcher,
  createRequestStep,
  hashKey,
  type BucketDecision,
  type HostSpec,
  type PathSpec,
  type SegmentSpec,
  type TableEntry,
} from '../../core/hot/index.ts';
import { describeSkippedBuilds, loadImpls, type Impl } from './_impls.ts';
import { referenceMatch } from './_reference.ts';

// Cases per property; 4,000 tables x 6 requests + 4,000 keys + 1,500 bucket sequences of up to
// 60 steps + 1,500 request-step tables x 8 requests: well over 10,000 cases, in a few seconds.
const MATCH_RUNS = 4000;
const HASH_RUNS = 4000;
const BUCKET_RUNS = 1500;
const STEP_RUNS = 1500;

let impls: Impl[];
beforeAll(async () => {
  impls = await loadImpls();
});

// Small alphabets so that random entries overlap and random requests hit them.
const SEGMENTS = ['a', 'b', 'api', 'v1', '', 'x.y', 'é', 'user-42', '%20', 'a/b'];
const HOSTS = ['example.com', 'a.example.com', 'b.a.example.com', 'xexample.com', 'com', '', 'api.test', 'é.test'];
const SUFFIXES = ['.example.com', 'example.com', '.com', '', '.test', 'a.example.com'];

const hostSpec: fc.Arbitrary<HostSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<HostSpec>({ kind: 'any' }) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTS).map((value): HostSpec => ({ kind: 'exact', value })) },
  { weight: 2, arbitrary: fc.constantFrom(...SUFFIXES).map((value): HostSpec => ({ kind: 'suffix', value })) },
);
const segmentSpec: fc.Arbitrary<SegmentSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SEGMENTS).map((value): SegmentSpec => ({ kind: 'static', value })) },
  { weight: 2, arbitrary: fc.constant<SegmentSpec>({ kind: 'param' }) },
);
const pathSpec: fc.Arbitrary<PathSpec> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<PathSpec>({ kind: 'deferred' }) },
  {
    weight: 8,
    arbitrary: fc
      .record({ segments: fc.array(segmentSpec, { maxLength: 4 }), rest: fc.boolean() })
      .map(({ segments, rest }): PathSpec => ({ kind: 'segments', segments, rest })),
  },
);
const methods = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0x3ff }), fc.constantFrom(1, 2, 4, 5));
const entry: fc.Arbitrary<TableEntry> = fc.record({ host: hostSpec, methods, path: pathSpec });

/** A request path: segments from the alphabet or random text, near-misses included. */
const requestPath = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 4, unit: 'grapheme' })), { maxLength: 5 })
      .chain((segs) => fc.constantFrom('/' + segs.join('/'), '/' + segs.join('/') + '/', segs.join('/'), '//' + segs.join('/'))),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.constantFrom('', '/', '//', '/api', '/api/', '/apix', '/api/v1/a/b') },
);
const requestHost = fc.oneof(fc.constantFrom(...HOSTS), fc.string({ maxLength: 8, unit: 'grapheme-ascii' }));
const request = fc.record({
  /** When set, the path is built from the entry `pick` (mod table size), then maybe bent. */
  fromEntry: fc.boolean(),
  pick: fc.nat(),
  fills: fc.array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ minLength: 1, maxLength: 3, unit: 'grapheme' })), {
    minLength: 8,
    maxLength: 8,
  }),
  bend: fc.constantFrom('none', 'none', 'trailing-slash', 'drop-last-char', 'extra-segment', 'empty-param'),
  bit: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 9 }).map((b) => 1 << b),
  ),
  host: requestHost,
  path: requestPath,
  fromDelta: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: -2, max: 40 }) }),
});

/** A path that the entry's pattern matches (params and rest filled from `fills`), maybe bent into a near-miss. */
function pathFor(e: TableEntry, fills: string[], bend: string): string {
  let i = 0;
  const next = (): string => fills[i++ % fills.length]!.replaceAll('/', '');
  const segs =
    e.path.kind === 'deferred'
      ? [next()]
      : e.path.segments.map((s) => (s.kind === 'static' ? s.value : bend === 'empty-param' ? '' : next() || 'p'));
  if (e.path.kind === 'segments' && e.path.rest && fills[0]!.length % 2 === 0) segs.push(next(), next());
  let path = '/' + segs.join('/');
  if (bend === 'trailing-slash') path += '/';
  else if (bend === 'drop-last-char') path = path.slice(0, -1);
  else if (bend === 'extra-segment') path += '/' + next();
  return path;
}

/** A host that `spec` accepts (a near-miss for suffixes when `fallback` is empty). */
function hostFor(spec: HostSpec, fallback: string): string {
  if (spec.kind === 'any') return fallback;
  if (spec.kind === 'exact') return spec.value;
  return fallback.slice(0, 2) + spec.value;
}

describe('matcher: every build (wasm, wasm-js-string where the engine has the builtins, wasm2js, twin) == reference', () => {
  /** Random tables of `entries` and requests; every build must give the reference's answer. */
  function agreeOnMatches(entries: fc.Arbitrary<TableEntry>, runs: number) {
    const seen = { requests: 0, hits: 0, withParams: 0, withFrom: 0, nonAscii: 0 };
    fc.assert(
      fc.property(
        fc.array(entries, { maxLength: 30 }),
        fc.array(request, { minLength: 1, maxLength: 6 }),
        (entries, requests) => {
          const blob = compileRouteTable(entries);
          const matchers = impls.map((impl) => createMatcher(impl.hot, blob));
          for (const req of requests) {
            const target = req.fromEntry && entries.length > 0 ? entries[req.pick % entries.length]! : undefined;
            const path = target ? pathFor(target, req.fills, req.bend) : req.path;
            const host = target && req.pick % 4 !== 0 ? hostFor(target.host, req.host) : req.host;
            const bit = target && target.methods !== 0 && req.pick % 5 !== 0 ? target.methods & -target.methods : req.bit;
            const from = req.fromDelta < 0 ? req.fromDelta : req.fromDelta % (entries.length + 2);
            const expected = referenceMatch(entries, bit, host, path, from);
            seen.requests++;
            if (expected) {
              seen.hits++;
              if (expected.params.length > 0) seen.withParams++;
              if (from > 0) seen.withFrom++;
              if ([...path].some((ch) => ch.charCodeAt(0) > 0x7f)) seen.nonAscii++;
            }
            for (const [k, m] of matchers.entries()) {
              const got = m.match(bit, host, path, from);
              const params: [number, number][] = [];
              if (got >= 0) for (let i = 0; i < m.paramCount(); i++) params.push([m.paramStart(i), m.paramEnd(i)]);
              expect({ impl: impls[k]!.name, index: got, params: got >= 0 ? params : [] }).toEqual({
                impl: impls[k]!.name,
                index: expected?.index ?? -1,
                params: expected?.params ?? [],
              });
            }
          }
        },
      ),
      { numRuns: runs },
    );
    return seen;
  }

  it('agrees on entry index and param offsets for random tables and requests', () => {
    const seen = agreeOnMatches(entry, MATCH_RUNS);
    // The generators must exercise what matters, not just misses.
    expect(seen.hits / seen.requests).toBeGreaterThan(0.2);
    expect(seen.withParams).toBeGreaterThan(500);
    expect(seen.withFrom).toBeGreaterThan(200);
    expect(seen.nonAscii).toBeGreaterThan(20);
    console.log('matcher differential', seen);
  });

  it('agrees on tables without hosts or deferred entries (the module answers those by a shorter path)', () => {
    const anyHostSegments = fc.record({
      host: fc.constant<HostSpec>({ kind: 'any' }),
      methods,
      path: pathSpec.filter((p) => p.kind === 'segments'),
    });
    const seen = agreeOnMatches(anyHostSegments, 2000);
    expect(seen.hits / seen.requests).toBeGreaterThan(0.2);
    expect(seen.withParams).toBeGreaterThan(300);
    expect(seen.withFrom).toBeGreaterThan(100);
    console.log('matcher differential, no hosts', seen);
  });

  it('agrees on tables where every entry names a host (one group per host: the shorter path again)', () => {
    const hostedSegments = fc.record({
      host: hostSpec.filter((h) => h.kind !== 'any'),
      methods,
      path: pathSpec.filter((p) => p.kind === 'segments'),
    });
    const seen = agreeOnMatches(hostedSegments, 2000);
    expect(seen.hits / seen.requests).toBeGreaterThan(0.1);
    expect(seen.withParams).toBeGreaterThan(100);
    console.log('matcher differential, hosted', seen);
  });
});

describe('hash: every build agrees', () => {
  it('agrees on random keys, including empty, long and non-ASCII ones', () => {
    const key = fc.oneof(
      fc.string({ maxLength: 40, unit: 'binary' }),
      fc.string({ minLength: 30, maxLength: 300, unit: 'grapheme' }),
      fc.string({ maxLength: 2000, unit: 'binary-ascii' }),
    );
    fc.assert(
      fc.property(key, (k) => {
        const [a, ...others] = impls.map((impl) => hashKey(impl.hot, k));
        expect(a).toMatch(/^[0-9a-f]{16}$/);
        expect(others).toEqual(others.map(() => a));
      }),
      { numRuns: HASH_RUNS },
    );
  });
});

describe('buckets: every build agrees', () => {
  const step = fc.record({
    key: fc.integer({ min: 0, max: 63 }),
    dt: fc.oneof(fc.integer({ min: -500, max: 3000 }), fc.double({ min: -10, max: 100, noNaN: true })),
    rate: fc.oneof(fc.constantFrom(0, 1, 10, 0.5), fc.double({ min: 0, max: 1e4, noNaN: true })),
    burst: fc.oneof(fc.constantFrom(0, 1, 5, 20), fc.double({ min: 0, max: 100, noNaN: true })),
    cost: fc.oneof(fc.constantFrom(0, 1, 2, 25), fc.double({ min: 0, max: 30, noNaN: true })),
  });
  it('agrees on every decision, with many keys evicting each other', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 16, 64),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })), {
          minLength: 64,
          maxLength: 64,
        }),
        fc.array(step, { minLength: 1, maxLength: 60 }),
        (capacity, keys, steps) => {
          const tables = impls.map((impl) => createBucketTable(impl.hot, { capacity }));
          let now = 1_700_000_000_000;
          for (const s of steps) {
            now += s.dt;
            const [lo, hi] = keys[s.key]!;
            const decisions: BucketDecision[] = tables.map((t) => consumeBucketWords(t, lo, hi, now, s.rate, s.burst, s.cost));
            expect(decisions[1]).toEqual(decisions[0]);
            expect(decisions[2]).toEqual(decisions[0]);
          }
        },
      ),
      { numRuns: BUCKET_RUNS },
    );
  });

  it('matches a plain Map model while the table has room for every key', () => {
    // 500 runs x 8 keys in 4096 slots with an 8-slot probe window: nothing is evicted
    // before a run is over (a window would need 8 live keys of the same run).
    const table = createBucketTable(impls[0]!.hot, { capacity: 4096 });
    let run = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 7 }),
            dt: fc.integer({ min: -200, max: 2000 }),
            cost: fc.constantFrom(0, 1, 2, 3, 7),
          }),
          { minLength: 1, maxLength: 80 },
        ),
        (steps) => {
          const rate = 2;
          const burst = 5;
          const model = new Map<number, { tokens: number; stamp: number }>();
          run++;
          let now = 1000;
          for (const s of steps) {
            now += s.dt;
            let b = model.get(s.key);
            if (!b) {
              b = { tokens: burst, stamp: now };
              model.set(s.key, b);
            }
            if (now > b.stamp) {
              b.tokens = Math.min(burst, b.tokens + ((now - b.stamp) * rate) / 1000);
              b.stamp = now;
            }
            const allowed = s.cost <= burst && b.tokens >= s.cost;
            if (allowed) b.tokens -= s.cost;
            const waitMs = allowed ? 0 : s.cost > burst ? -1 : Math.ceil(((s.cost - b.tokens) * 1000) / rate);
            const expected = { allowed, remaining: b.tokens, waitMs };
            // A fresh high word per run: every run sees new keys in the shared table.
            expect(consumeBucketWords(table, Math.imul(s.key, 0x9e3779b1) >>> 0, run, now, rate, burst, s.cost)).toEqual(
              expected,
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('request step: every build == reference', () => {
  const stepRequest = fc.record({
    req: request,
    dt: fc.oneof(fc.integer({ min: -200, max: 2000 }), fc.double({ min: -5, max: 50, noNaN: true })),
    rate: fc.oneof(fc.constantFrom(0, 1, 10), fc.double({ min: 0, max: 1e3, noNaN: true })),
    burst: fc.oneof(fc.constantFrom(0, 1, 3), fc.double({ min: 0, max: 10, noNaN: true })),
    cost: fc.oneof(fc.constantFrom(0, 1, 2), fc.double({ min: 0, max: 5, noNaN: true })),
    client: fc.oneof(fc.constant(0), fc.constantFrom(1, 0x80000000, 0xffffffff)),
    repeat: fc.boolean(),
  });
  it('agrees on match, params, cache-key hash and bucket decision for random tables and requests', () => {
    const seen = { requests: 0, hits: 0, denied: 0, repeats: 0 };
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), fc.array(stepRequest, { minLength: 1, maxLength: 8 }), (entries, steps) => {
        const blob = compileRouteTable(entries);
        // Few slots, so that keys also evict each other.
        const runners = impls.map((impl) => createRequestStep(impl.hot, blob, createBucketTable(impl.hot, { capacity: 8 })));
        let now = 1_700_000_000_000;
        let last: { bit: number; host: string; path: string } | undefined;
        for (const s of steps) {
          const req = s.req;
          const target = req.fromEntry && entries.length > 0 ? entries[req.pick % entries.length]! : undefined;
          let path = target ? pathFor(target, req.fills, req.bend) : req.path;
          let host = target && req.pick % 4 !== 0 ? hostFor(target.host, req.host) : req.host;
          let bit = target && target.methods !== 0 && req.pick % 5 !== 0 ? target.methods & -target.methods : req.bit;
          // Repeating the last request hits the same bucket.
          if (s.repeat && last) ({ bit, host, path } = last);
          if (s.repeat && last) seen.repeats++;
          last = { bit, host, path };
          now += s.dt;
          const expected = referenceMatch(entries, bit, host, path, 0);
          seen.requests++;
          if (expected) seen.hits++;
          const outs = runners.map((r, k) => {
            const index = r.run(bit, host, path, now, s.rate, s.burst, s.cost, s.client, s.client ^ 0x5bd1e995);
            const params: [number, number][] = [];
            if (index >= 0) for (let i = 0; i < r.paramCount(); i++) params.push([r.paramStart(i), r.paramEnd(i)]);
            return {
              impl: impls[k]!.name,
              index,
              params,
              hash: r.hashHex(),
              allowed: r.allowed(),
              remaining: r.remaining(),
              waitMs: r.waitMs(),
            };
          });
          if (!outs[0]!.allowed) seen.denied++;
          expect({ index: outs[0]!.index, params: outs[0]!.params }).toEqual({
            index: expected?.index ?? -1,
            params: expected?.params ?? [],
          });
          for (const out of outs.slice(1)) expect(out).toEqual({ ...outs[0], impl: out.impl });
        }
      }),
      { numRuns: STEP_RUNS },
    );
    expect(seen.hits / seen.requests).toBeGreaterThan(0.2);
    expect(seen.denied).toBeGreaterThan(200);
    expect(seen.repeats).toBeGreaterThan(500);
    console.log('request-step differential', seen);
  });
});

describeSkippedBuilds('matcher: every build == reference');
