// Behaviour of the route matcher, run against the Wasm build, the wasm2js build and the twin.
import { describe, expect, it } from 'vitest';
import {
  METHOD_BITS,
  compileRouteTable,
  createMatcher,
  methodBit,
  type HostSpec,
  type Matcher,
  type PathSpec,
  type SegmentSpec,
  type TableEntry,
  type HotExports,
  RouteTableError,
  loadRouteTable,
} from '../../core/hot/index.ts';
import { PorticoError } from '../../core/errors.ts';
import { describeSkippedBuilds, loadImpls, type Impl } from './_impls.ts';
import { referenceMatch } from './_reference.ts';

const impls = await loadImpls();

const ANY: HostSpec = { kind: 'any' };
const s = (value: string): SegmentSpec => ({ kind: 'static', value });
const P: SegmentSpec = { kind: 'param' };
/** '/users/:id/*' style shorthand for a segments path. */
function path(pattern: string): PathSpec {
  const parts = pattern.slice(1).split('/');
  const rest = parts[parts.length - 1] === '*';
  if (rest) parts.pop();
  return { kind: 'segments', segments: parts.map((p) => (p.startsWith(':') ? P : s(p))), rest };
}
const route = (pattern: string, methods = 0, host: HostSpec = ANY): TableEntry => ({ host, methods, path: path(pattern) });

function params(m: Matcher, p: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < m.paramCount(); i++) out.push(p.slice(m.paramStart(i), m.paramEnd(i)));
  return out;
}

describe.each(impls.map((impl) => [impl.name, impl] as const))('matcher on %s', (_name, impl: Impl) => {
  const matcherFor = (entries: TableEntry[]): Matcher => createMatcher(impl.hot, compileRouteTable(entries));
  const GET = METHOD_BITS.GET;

  it('matches a static path and nothing else', () => {
    const m = matcherFor([route('/users'), route('/users/me')]);
    expect(m.match(GET, 'h', '/users', 0)).toBe(0);
    expect(m.match(GET, 'h', '/users/me', 0)).toBe(1);
    expect(m.match(GET, 'h', '/users/', 0)).toBe(-1);
    expect(m.match(GET, 'h', '/user', 0)).toBe(-1);
    expect(m.match(GET, 'h', '/users/me/x', 0)).toBe(-1);
  });

  it('prefers the first entry in table order when two match', () => {
    const m = matcherFor([route('/users/:id'), route('/users/me')]);
    expect(m.match(GET, 'h', '/users/me', 0)).toBe(0);
    const m2 = matcherFor([route('/users/me'), route('/users/:id')]);
    expect(m2.match(GET, 'h', '/users/me', 0)).toBe(0);
    expect(m2.match(GET, 'h', '/users/42', 0)).toBe(1);
  });

  it('resumes from the given entry index', () => {
    const m = matcherFor([route('/a/:x'), { host: ANY, methods: 0, path: { kind: 'deferred' } }, route('/a/b'), route('/*')]);
    expect(m.match(GET, 'h', '/a/b', 0)).toBe(0);
    expect(m.match(GET, 'h', '/a/b', 1)).toBe(1);
    expect(m.match(GET, 'h', '/a/b', 2)).toBe(2);
    expect(m.match(GET, 'h', '/a/b', 3)).toBe(3);
    expect(m.match(GET, 'h', '/a/b', 4)).toBe(-1);
  });

  it('captures params as offsets into the path', () => {
    const m = matcherFor([route('/repos/:owner/:repo/issues/:n')]);
    const p = '/repos/honojs/hono/issues/42';
    expect(m.match(GET, 'h', p, 0)).toBe(0);
    expect(params(m, p)).toEqual(['honojs', 'hono', '42']);
    expect(m.paramStart(3)).toBe(-1);
  });

  it('never matches a param against an empty segment', () => {
    const m = matcherFor([route('/users/:id'), route('/users/:id/posts')]);
    expect(m.match(GET, 'h', '/users/', 0)).toBe(-1);
    expect(m.match(GET, 'h', '/users//posts', 0)).toBe(-1);
  });

  it('treats a trailing slash as an empty last segment', () => {
    const m = matcherFor([route('/a/'), route('/a')]);
    expect(m.match(GET, 'h', '/a/', 0)).toBe(0);
    expect(m.match(GET, 'h', '/a', 0)).toBe(1);
    const root = matcherFor([route('/')]);
    expect(root.match(GET, 'h', '/', 0)).toBe(0);
    expect(root.match(GET, 'h', '//', 0)).toBe(-1);
  });

  it('matches zero or more trailing segments with a rest pattern, not a longer segment', () => {
    const m = matcherFor([route('/api/*')]);
    for (const p of ['/api', '/api/', '/api/x', '/api/x/y']) expect(m.match(GET, 'h', p, 0)).toBe(0);
    expect(m.match(GET, 'h', '/apix', 0)).toBe(-1);
    expect(m.match(GET, 'h', '/ap', 0)).toBe(-1);
  });

  it('captures the rest without its leading slash', () => {
    const m = matcherFor([route('/files/:bucket/*')]);
    const p = '/files/b1/dir/a.txt';
    expect(m.match(GET, 'h', p, 0)).toBe(0);
    expect(params(m, p)).toEqual(['b1', 'dir/a.txt']);
    expect(m.match(GET, 'h', '/files/b1', 0)).toBe(0);
    expect(params(m, '/files/b1')).toEqual(['b1', '']);
    expect(m.paramStart(1)).toBe('/files/b1'.length);
    expect(m.match(GET, 'h', '/files/b1/', 0)).toBe(0);
    expect(params(m, '/files/b1/')).toEqual(['b1', '']);
  });

  it('matches every path with a bare rest pattern', () => {
    const m = matcherFor([route('/*')]);
    expect(m.match(GET, 'h', '/', 0)).toBe(0);
    expect(params(m, '/')).toEqual(['']);
    expect(m.match(GET, 'h', '/a/b', 0)).toBe(0);
    expect(params(m, '/a/b')).toEqual(['a/b']);
  });

  it('filters by method bits, with 0 meaning any method', () => {
    const m = matcherFor([route('/x', METHOD_BITS.POST | METHOD_BITS.PUT), route('/x', 0)]);
    expect(m.match(METHOD_BITS.PUT, 'h', '/x', 0)).toBe(0);
    expect(m.match(METHOD_BITS.GET, 'h', '/x', 0)).toBe(1);
    expect(m.match(METHOD_BITS.OTHER, 'h', '/x', 0)).toBe(1);
  });

  it('matches exact hosts, and suffix hosts only with at least one character before the suffix', () => {
    const m = matcherFor([
      route('/', 0, { kind: 'exact', value: 'example.com' }),
      route('/', 0, { kind: 'suffix', value: '.example.com' }),
    ]);
    expect(m.match(GET, 'example.com', '/', 0)).toBe(0);
    expect(m.match(GET, 'a.example.com', '/', 0)).toBe(1);
    expect(m.match(GET, 'a.b.example.com', '/', 0)).toBe(1);
    expect(m.match(GET, '.example.com', '/', 0)).toBe(-1);
    expect(m.match(GET, 'xexample.com', '/', 0)).toBe(-1);
    expect(m.match(GET, 'example.org', '/', 0)).toBe(-1);
  });

  it('takes the first entry across host-specific and any-host entries', () => {
    const m = matcherFor([
      route('/a', 0, { kind: 'suffix', value: '.example.com' }),
      route('/a'),
      route('/a', 0, { kind: 'exact', value: 'api.example.com' }),
    ]);
    expect(m.match(GET, 'api.example.com', '/a', 0)).toBe(0);
    expect(m.match(GET, 'api.example.com', '/a', 1)).toBe(1);
    expect(m.match(GET, 'api.example.com', '/a', 2)).toBe(2);
    expect(m.match(GET, 'other.org', '/a', 0)).toBe(1);
  });

  it('always matches a deferred entry path-wise, even for an odd path', () => {
    const m = matcherFor([{ host: ANY, methods: METHOD_BITS.GET, path: { kind: 'deferred' } }]);
    expect(m.match(GET, 'h', '/anything/at/all', 0)).toBe(0);
    expect(m.match(GET, 'h', '', 0)).toBe(0);
    expect(m.paramCount()).toBe(0);
    expect(m.match(METHOD_BITS.POST, 'h', '/x', 0)).toBe(-1);
  });

  it('keeps several loaded tables apart', () => {
    const a = matcherFor([route('/a')]);
    const b = matcherFor([route('/b'), route('/a')]);
    expect(a.match(GET, 'h', '/a', 0)).toBe(0);
    expect(b.match(GET, 'h', '/a', 0)).toBe(1);
    expect(a.match(GET, 'h', '/b', 0)).toBe(-1);
  });

  it('returns string offsets for non-ASCII paths', () => {
    const m = matcherFor([route('/café/:name/*')]);
    const p = '/café/zoë/ü/😀x';
    expect(m.match(GET, 'h', p, 0)).toBe(0);
    expect(params(m, p)).toEqual(['zoë', 'ü/😀x']);
  });

  it('handles paths longer than the initial scratch area', () => {
    const m = matcherFor([route('/long/:x')]);
    const long = 'y'.repeat(20_000);
    expect(m.match(GET, 'h', `/long/${long}`, 0)).toBe(0);
    expect(m.paramEnd(0) - m.paramStart(0)).toBe(20_000);
    expect(m.match(GET, 'h', '/long/z', 0)).toBe(0);
    expect(params(m, '/long/z')).toEqual(['z']);
  });

  it('handles hosts and paths longer than the scratch area together', () => {
    const host = 'h'.repeat(9000) + '.example';
    const m = matcherFor([route('/a/:x', 0, { kind: 'suffix', value: '.example' })]);
    const p = `/a/${'x'.repeat(9000)}`;
    expect(m.match(GET, host, p, 0)).toBe(0);
    expect(m.paramEnd(0) - m.paramStart(0)).toBe(9000);
    expect(m.match(GET, 'é.example', '/a/ü', 0)).toBe(0);
    expect(params(m, '/a/ü')).toEqual(['ü']);
  });

  it('keeps the host right when hosts change between short and long paths', () => {
    const m = matcherFor([
      route('/p/:x', 0, { kind: 'exact', value: 'a.test' }),
      route('/p/:x', 0, { kind: 'exact', value: 'bb.example.test' }),
      route('/p/:x', 0, { kind: 'suffix', value: '.test' }),
    ]);
    const long = `/p/${'y'.repeat(5000)}`;
    const cases: [string, string, number][] = [
      ['a.test', '/p/1', 0],
      ['bb.example.test', '/p/1', 1],
      ['bb.example.test', long, 1],
      ['a.test', long, 0],
      ['c.test', '/p/é', 2],
      ['a.test', '/p/1', 0],
      ['a.tesT', '/p/1', -1],
      ['x'.repeat(70) + '.test', '/p/1', 2],
      ['a.test', '/p/2', 0],
    ];
    for (const [host, path, want] of cases)
      expect(m.match(GET, host, path, 0), `${host.slice(0, 20)} ${path.slice(0, 20)}`).toBe(want);
  });

  it('finds routes in a large multi-host table', () => {
    const entries: TableEntry[] = [];
    for (let h = 0; h < 50; h++) {
      for (let r = 0; r < 40; r++)
        entries.push(route(`/svc${r}/:id/items/:item`, GET, { kind: 'exact', value: `host${h}.example.com` }));
    }
    entries.push(route('/*'));
    const m = matcherFor(entries);
    const p = '/svc7/abc/items/9';
    expect(m.match(GET, 'host33.example.com', p, 0)).toBe(33 * 40 + 7);
    expect(params(m, p)).toEqual(['abc', '9']);
    expect(m.match(GET, 'host99.example.com', p, 0)).toBe(2000);
  });

  it('answers right when the same host alternates between tables', () => {
    const a = matcherFor([route('/x', 0, { kind: 'exact', value: 'h.example' })]);
    const b = matcherFor([route('/y'), route('/x', 0, { kind: 'suffix', value: '.example' })]);
    for (let i = 0; i < 3; i++) {
      expect(a.match(GET, 'h.example', '/x', 0)).toBe(0);
      expect(b.match(GET, 'h.example', '/x', 0)).toBe(1);
      expect(a.match(GET, 'i.example', '/x', 0)).toBe(-1);
      expect(b.match(GET, 'i.example', '/x', 0)).toBe(1);
    }
  });

  it('finds every suffix group of a host, more than any cache holds', () => {
    const entries: TableEntry[] = [];
    for (let n = 25; n >= 1; n--) entries.push(route(`/s${n}`, 0, { kind: 'suffix', value: 'a'.repeat(n) }));
    const m = matcherFor(entries);
    const host = 'x' + 'a'.repeat(30);
    for (let n = 1; n <= 25; n++) expect(m.match(GET, host, `/s${n}`, 0)).toBe(25 - n);
    const long = 'h'.repeat(300) + 'a';
    expect(m.match(GET, long, '/s1', 0)).toBe(24);
    expect(m.match(GET, long, '/s2', 0)).toBe(-1);
  });

  it('matchNext walks the same candidates as match from each next index, without writing the request again', () => {
    const host = 'api.example.com';
    const entries = [
      route('/é/:x', GET),
      route('/é/*'),
      route('/é/:y', 0, { kind: 'exact', value: host }),
      route('/é/b', GET, { kind: 'suffix', value: '.example.com' }),
      route('/*'),
    ];
    const m = matcherFor(entries);
    for (const [h, p] of [
      [host, '/é/b'],
      ['other.test', '/é/b'],
      [host, '/nothing'],
    ] as const) {
      const byMatch: [number, string[]][] = [];
      for (let i = m.match(GET, h, p, 0); i >= 0; i = m.match(GET, h, p, i + 1)) byMatch.push([i, params(m, p)]);
      const byNext: [number, string[]][] = [];
      for (let i = m.match(GET, h, p, 0); i >= 0; i = m.matchNext(GET, i + 1)) byNext.push([i, params(m, p)]);
      expect(byNext).toEqual(byMatch);
    }
    // The non-ASCII path: offsets stay in string units after matchNext.
    expect(m.match(GET, host, '/é/b', 0)).toBe(0);
    expect([m.matchNext(GET, 1), params(m, '/é/b')]).toEqual([1, ['b']]);
  });

  it('answers the static paths of a table without hosts without calling the module, as the module would', () => {
    const entries = [
      route('/users/:id', GET),
      route('/users/me', METHOD_BITS.GET | METHOD_BITS.POST),
      route('/users/*', METHOD_BITS.DELETE),
      route('/users/me'),
      route('/health'),
      route('/é'),
    ];
    const blob = compileRouteTable(entries);
    // The module's exports, with its match calls counted.
    const counted = { calls: 0 };
    const count =
      <A extends unknown[], R>(f: (...args: A) => R) =>
      (...args: A): R => {
        counted.calls++;
        return f(...args);
      };
    // The same module's exports (bound, so that the twin's methods keep their object), its
    // two match exports counted.
    const src = impl.hot as unknown as Record<string, unknown>;
    const bound = (name: string) => (src[name] as (...args: unknown[]) => unknown).bind(impl.hot);
    const names = ['reserve', 'paramsPtr', 'hashOutPtr', 'bucketOutPtr', 'checkTable', 'hash64'];
    names.push('bucketTableBytes', 'bucketInit', 'bucketConsume', 'requestStep');
    const hot = {
      get memory() {
        return impl.hot.memory;
      },
      ...Object.fromEntries(names.map((n) => [n, bound(n)])),
      matchRoute: count(bound('matchRoute')),
      ...(impl.hot.matchRouteStr ? { matchRouteStr: count(bound('matchRouteStr')) } : {}),
    } as unknown as HotExports;
    const m = createMatcher(hot, blob);
    const bits = [0, METHOD_BITS.GET, METHOD_BITS.POST, METHOD_BITS.DELETE, METHOD_BITS.PUT];
    const answer = (bit: number, p: string, from: number): [number, string[]] => {
      const r = referenceMatch(entries, bit, 'h', p, from);
      return r ? [r.index, r.params.map(([a, b]) => p.slice(a, b))] : [-1, []];
    };
    for (const p of ['/users/me', '/health']) {
      for (const bit of bits) {
        for (const from of [-1, 0, 1, 2, 3, 4, 5, 9]) {
          const before = counted.calls;
          const got = m.match(bit, 'h', p, from);
          expect([got, got >= 0 ? params(m, p) : []]).toEqual(answer(bit, p, from));
          if (got >= 0) {
            const next = m.matchNext(bit, got + 1);
            expect([next, next >= 0 ? params(m, p) : []]).toEqual(answer(bit, p, got + 1));
          }
          expect(counted.calls).toBe(before);
        }
      }
    }
    // '/users/me' for GET is the param route first, its param from the precomputed record.
    expect([m.match(GET, 'h', '/users/me', 0), params(m, '/users/me')]).toEqual([0, ['me']]);
    // Other paths, and a non-ASCII static path, go to the module.
    const before = counted.calls;
    expect([m.match(GET, 'h', '/users/42', 0), params(m, '/users/42')]).toEqual([0, ['42']]);
    const between = counted.calls;
    expect(m.match(GET, 'h', '/é', 0)).toBe(5);
    expect([between > before, counted.calls > between]).toEqual([true, true]);
  });

  it('loads a table into the memory of one it replaces when it fits, and a refused blob changes nothing', () => {
    const first = loadRouteTable(impl.hot, compileRouteTable([route('/a/:x'), route('/b')]), { reserveBytes: 4096 });
    expect(first.capacity).toBe(4096);
    const top = impl.hot.reserve(0) >>> 0;
    const second = loadRouteTable(impl.hot, compileRouteTable([route('/c'), route('/d/:y')]), { replace: first });
    expect([second.ptr, second.capacity, impl.hot.reserve(0) >>> 0]).toEqual([first.ptr, 4096, top]);
    const m = createMatcher(impl.hot, second);
    expect([m.match(GET, '', '/d/7', 0), params(m, '/d/7'), m.match(GET, '', '/a/1', 0)]).toEqual([1, ['7'], -1]);

    // Refused before anything is written or reserved: the table it would replace still works.
    expect(() => loadRouteTable(impl.hot, new Uint8Array(64), { replace: second })).toThrow(RouteTableError);
    expect(impl.hot.reserve(0) >>> 0).toBe(top);
    expect(m.match(GET, '', '/c', 0)).toBe(0);

    // Too big for the old memory: new memory, and the old table is left alone.
    const big = compileRouteTable(Array.from({ length: 200 }, (_, i) => route(`/big${i}/:z`)));
    const third = loadRouteTable(impl.hot, big, { replace: second });
    expect(third.ptr).not.toBe(second.ptr);
    expect(m.match(GET, '', '/c', 0)).toBe(0);
  });

  it('throws a RouteTableError for a blob that is not a route table', () => {
    expect(() => createMatcher(impl.hot, new Uint8Array(64))).toThrow(/route table/);
    try {
      createMatcher(impl.hot, new Uint8Array(64));
    } catch (error) {
      expect(error).toBeInstanceOf(RouteTableError);
      expect(error).toBeInstanceOf(PorticoError);
      expect((error as PorticoError).code).toBe('ERR_ROUTE_TABLE_INVALID');
      expect((error as Error).name).toBe('RouteTableError');
    }
  });
});

describe('compileRouteTable', () => {
  it('is deterministic', () => {
    const entries = [route('/a/:b'), route('/c/*', 0, { kind: 'suffix', value: '.x' })];
    expect(compileRouteTable(entries)).toEqual(compileRouteTable(entries));
  });

  it('refuses a pattern with more params than the matcher can return', () => {
    const segments = Array.from({ length: 65 }, () => P);
    expect(() => compileRouteTable([{ host: ANY, methods: 0, path: { kind: 'segments', segments, rest: false } }])).toThrow(
      /at most 64/,
    );
  });
});

describe.each(impls.map((impl) => [impl.name, impl] as const))('matchers sharing %s', (_name, impl: Impl) => {
  const GET = METHOD_BITS.GET;
  const matcherFor = (entries: TableEntry[]): Matcher => createMatcher(impl.hot, compileRouteTable(entries));

  it('keeps the params of the last successful match after a miss', () => {
    const m = matcherFor([route('/u/:id')]);
    expect(m.match(GET, 'h', '/u/42', 0)).toBe(0);
    expect(m.match(GET, 'h', '/nope', 0)).toBe(-1);
    expect(params(m, '/u/42')).toEqual(['42']);
  });

  it("keeps each matcher's params when matchers of one module interleave", () => {
    const a = matcherFor([route('/a/:x/:y')]);
    const b = matcherFor([route('/b/:z')]);
    expect(a.match(GET, 'h', '/a/one/two', 0)).toBe(0);
    expect(b.match(GET, 'h', '/b/three', 0)).toBe(0);
    expect(params(a, '/a/one/two')).toEqual(['one', 'two']);
    expect(params(b, '/b/three')).toEqual(['three']);
    expect(a.match(GET, 'h', '/a/é/ü', 0)).toBe(0);
    expect(b.match(GET, 'h', '/b/x', 0)).toBe(0);
    expect(params(a, '/a/é/ü')).toEqual(['é', 'ü']);
  });

  it("keeps each matcher's params when a static path is answered between another matcher's matches", () => {
    const a = matcherFor([route('/a/:x')]);
    const b = matcherFor([route('/b/:id'), route('/b/me')]);
    expect(a.match(GET, 'h', '/a/1', 0)).toBe(0);
    expect(b.match(GET, 'h', '/b/me', 0)).toBe(0);
    expect([params(a, '/a/1'), params(b, '/b/me')]).toEqual([['1'], ['me']]);
    expect(b.match(GET, 'h', '/b/42', 0)).toBe(0);
    expect(a.match(GET, 'h', '/a/2', 0)).toBe(0);
    expect(b.match(GET, 'h', '/b/me', 0)).toBe(0);
    expect([params(a, '/a/2'), params(b, '/b/me')]).toEqual([['2'], ['me']]);
    expect(b.match(GET, 'h', '/b/7', 0)).toBe(0);
    expect([params(a, '/a/2'), params(b, '/b/7')]).toEqual([['2'], ['7']]);
  });

  it('keeps working when linear memory grows between matches', () => {
    const m = matcherFor([route('/g/:x', 0, { kind: 'exact', value: 'grow.example' })]);
    expect(m.match(GET, 'grow.example', '/g/1', 0)).toBe(0);
    // Load a table large enough to grow memory by several pages.
    const big: TableEntry[] = Array.from({ length: 3000 }, (_, i) => route(`/big/${i}/:x`));
    const other = matcherFor(big);
    expect(other.match(GET, 'h', '/big/2999/z', 0)).toBe(2999);
    expect(params(m, '/g/1')).toEqual(['1']);
    expect(m.match(GET, 'grow.example', '/g/22', 0)).toBe(0);
    expect(params(m, '/g/22')).toEqual(['22']);
  });
});

describe('methodBit', () => {
  it('gives each known method its bit and OTHER for anything else, prototype names included', () => {
    expect(methodBit('GET')).toBe(METHOD_BITS.GET);
    expect(methodBit('PATCH')).toBe(METHOD_BITS.PATCH);
    for (const m of ['PURGE', 'get', '', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      expect(methodBit(m)).toBe(METHOD_BITS.OTHER);
    }
  });
});

describeSkippedBuilds('matcher');
describeSkippedBuilds('matchers sharing');
