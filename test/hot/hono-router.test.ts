// PorticoRouter inside real Hono apps, against Hono's own routers.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Hono } from 'hono';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import { UnsupportedPathError, type Result } from 'hono/router';
import type { H, RouterRoute } from 'hono/types';

type HonoRoute = [H, RouterRoute];
import { PorticoRouter } from '../../core/hot/index.ts';
import { describeSkippedBuilds, loadImpls } from './_impls.ts';

const impls = await loadImpls();

/** Handlers and params of a router Result, whichever of Hono's two shapes it has. */
function normalize(result: Result<string>): [string, Record<string, string>][] {
  const [matches, stash] = result as [[string, Record<string, string | number>][], (string | undefined)[] | undefined];
  return matches.map(([h, map]) => {
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(map)) params[k] = stash && typeof v === 'number' ? stash[v]! : String(v);
    return [h, params];
  });
}

describe.each(impls.map((impl) => [impl.name, impl] as const))('PorticoRouter on %s', (_name, impl) => {
  it('serves a Hono app: params, middleware order, wildcard, ALL and 404', async () => {
    const app = new Hono({ router: new PorticoRouter(impl.hot) });
    const seen: string[] = [];
    app.use('*', async (_c, next) => {
      seen.push('star');
      await next();
    });
    app.use('/api/*', async (c, next) => {
      seen.push('api');
      await next();
      c.header('x-api', '1');
    });
    app.get('/api/users/:id', (c) => c.json({ id: c.req.param('id') }));
    app.post('/api/users', (c) => c.text('created', 201));
    app.all('/any', (c) => c.text(c.req.method));
    app.get('/files/*', (c) => c.text(`file ${c.req.path}`));

    const res = await app.request('/api/users/42');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: '42' });
    expect(res.headers.get('x-api')).toBe('1');
    expect(seen).toEqual(['star', 'api']);

    expect((await app.request('/api/users', { method: 'POST' })).status).toBe(201);
    expect(await (await app.request('/any', { method: 'DELETE' })).text()).toBe('DELETE');
    expect(await (await app.request('/files/a/b.txt')).text()).toBe('file /files/a/b.txt');
    expect((await app.request('/api/users/42', { method: 'PUT' })).status).toBe(404);
    expect((await app.request('/nowhere')).status).toBe(404);
  });

  it('decodes percent-encoded and non-ASCII params like Hono does', async () => {
    const app = new Hono({ router: new PorticoRouter(impl.hot) });
    app.get('/u/:name/x', (c) => c.text(c.req.param('name')));
    expect(await (await app.request('/u/caf%C3%A9/x')).text()).toBe('café');
    expect(await (await app.request('/u/a%20b/x')).text()).toBe('a b');
  });

  it('matches custom methods exactly', () => {
    const r = new PorticoRouter<string>(impl.hot);
    r.add('PURGE', '/c', 'purge');
    r.add('GET', '/c', 'get');
    expect(normalize(r.match('PURGE', '/c'))).toEqual([['purge', {}]]);
    expect(normalize(r.match('BREW', '/c'))).toEqual([]);
  });

  it('accepts lower-case and alternating methods (the upper-cased method is cached per name)', () => {
    const r = new PorticoRouter<string>(impl.hot);
    r.add('GET', '/m', 'get');
    r.add('POST', '/m', 'post');
    r.add('PURGE', '/m', 'purge');
    const seq: [string, string[]][] = [
      ['get', ['get']],
      ['POST', ['post']],
      ['GET', ['get']],
      ['purge', ['purge']],
      ['post', ['post']],
      ['BREW', []],
    ];
    for (const [m, want] of seq) expect(normalize(r.match(m, '/m')).map(([h]) => h)).toEqual(want);
  });

  it('returns every overlapping route, and only one when no later route can overlap', () => {
    const r = new PorticoRouter<string>(impl.hot);
    r.add('GET', '/users/:id', 'user');
    r.add('GET', '/users/me', 'me');
    r.add('POST', '/users/:id', 'post-user');
    r.add('GET', '/users/:id/*', 'user-rest');
    r.add('ALL', '/users/x/', 'x-slash');
    r.add('GET', '/static', 'static');
    expect(normalize(r.match('GET', '/users/me'))).toEqual([
      ['user', { id: 'me' }],
      ['me', {}],
      ['user-rest', { id: 'me' }],
    ]);
    expect(normalize(r.match('GET', '/users/7'))).toEqual([
      ['user', { id: '7' }],
      ['user-rest', { id: '7' }],
    ]);
    expect(normalize(r.match('POST', '/users/7'))).toEqual([['post-user', { id: '7' }]]);
    expect(normalize(r.match('GET', '/users/x/'))).toEqual([
      ['user-rest', { id: 'x' }],
      ['x-slash', {}],
    ]);
    expect(normalize(r.match('GET', '/static'))).toEqual([['static', {}]]);
    // A route added after a match is seen by the next match (table and "last" flags rebuilt).
    r.add('GET', '/static', 'static-2');
    expect(normalize(r.match('GET', '/static'))).toEqual([
      ['static', {}],
      ['static-2', {}],
    ]);
  });

  it('answers a route that matches alone with each of its params, for 1 to 5 params', () => {
    const r = new PorticoRouter<string>(impl.hot);
    const letters = ['a', 'b', 'c', 'd', 'e'];
    const names = ['one', 'two', 'three', 'four', 'five'];
    // '/one/:a', '/two/:a/:b', ... '/five/:a/:b/:c/:d/:e'
    names.forEach((name, i) => {
      const params = letters.slice(0, i + 1).map((l) => `:${l}`);
      r.add('GET', `/${name}/${params.join('/')}`, name);
    });
    for (let n = 1; n <= 5; n++) {
      const values = letters.slice(0, n).map((l, i) => `${l}${i}x`);
      const want = Object.fromEntries(letters.slice(0, n).map((l, i) => [l, values[i]!]));
      // Sliced out of a longer string, as a server hands the path over.
      const url = `http://h/${names[n - 1]}/${values.join('/')}?q=1`;
      expect(normalize(r.match('GET', url.slice(8, url.indexOf('?'))))).toEqual([[names[n - 1], want]]);
      // A non-ASCII value: the module answers in UTF-8 offsets, converted back to string ones.
      const wide = [...values.slice(0, n - 1), 'é€'];
      expect(normalize(r.match('GET', `/${names[n - 1]}/${wide.join('/')}`))).toEqual([
        [names[n - 1], Object.fromEntries(letters.slice(0, n).map((l, i) => [l, wide[i]!]))],
      ]);
    }
  });

  it('takes routes added between matches without a new table in memory for each', () => {
    const paths = Array.from({ length: 120 }, (_, i) => `/late/r${i}/:id`);
    // A first match sets up the module's string scratch, so the deltas below are tables only.
    const warm = new PorticoRouter<string>(impl.hot);
    warm.add('GET', '/warm', 'w');
    warm.match('GET', '/warm');
    const top = (): number => impl.hot.reserve(0) >>> 0;

    const once = new PorticoRouter<string>(impl.hot);
    let before = top();
    for (const p of paths) once.add('GET', p, p);
    once.match('GET', '/late/r0/1');
    const oneTable = top() - before;

    const late = new PorticoRouter<string>(impl.hot);
    before = top();
    for (const p of paths) {
      late.add('GET', p, p);
      expect(normalize(late.match('GET', p.replace(':id', '7')))).toEqual([[p, { id: '7' }]]);
    }
    // Each rebuild reuses the last table's memory or reserves twice its need: a geometric sum.
    expect(top() - before).toBeLessThanOrEqual(4 * oneTable + 64);
    // Every route still answers after the last rebuild.
    for (const p of paths) expect(normalize(late.match('GET', p.replace(':id', 'x')))).toEqual([[p, { id: 'x' }]]);
  });

  it('throws UnsupportedPathError for patterns it cannot compile', () => {
    const r = new PorticoRouter<string>(impl.hot);
    for (const p of ['/a/:id{[0-9]+}', '/a/:id?', '/a/*/b', '/api*', 'relative']) {
      expect(() => r.add('GET', p, 'h')).toThrow(UnsupportedPathError);
    }
  });

  it('lets SmartRouter fall back to RegExpRouter on an unsupported pattern', async () => {
    const supported = new SmartRouter<HonoRoute>({
      routers: [new PorticoRouter<HonoRoute>(impl.hot), new RegExpRouter<HonoRoute>()],
    });
    const a = new Hono({ router: supported });
    a.get('/p/:id', (c) => c.text(c.req.param('id')));
    expect(await (await a.request('/p/7')).text()).toBe('7');
    expect(supported.name).toBe('SmartRouter + PorticoRouter');

    const fallback = new SmartRouter<HonoRoute>({
      routers: [new PorticoRouter<HonoRoute>(impl.hot), new RegExpRouter<HonoRoute>()],
    });
    const b = new Hono({ router: fallback });
    b.get('/p/:id{[0-9]+}', (c) => c.text(`n${c.req.param('id')}`));
    expect(await (await b.request('/p/7')).text()).toBe('n7');
    expect((await b.request('/p/x')).status).toBe(404);
    expect(fallback.name).toBe('SmartRouter + RegExpRouter');
  });

  it('agrees with TrieRouter and RegExpRouter on random route sets', () => {
    const seg = fc.constantFrom('a', 'b', 'api', 'v1', ':id', ':name');
    const pattern = fc.oneof(
      { weight: 1, arbitrary: fc.constantFrom('*', '/*', '/') },
      {
        weight: 6,
        arbitrary: fc
          .tuple(fc.array(seg, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.boolean())
          .map(([segs, star, slash]) => '/' + segs.join('/') + (star ? '/*' : slash ? '/' : '')),
      },
    );
    const method = fc.constantFrom('GET', 'POST', 'ALL');
    let hits = 0;
    const reqPath = fc
      .array(fc.constantFrom('a', 'b', 'api', 'v1', 'x', '42', ''), { maxLength: 5 })
      .map((s) => '/' + s.join('/'));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(method, pattern), { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.constantFrom('GET', 'POST'), reqPath), { minLength: 1, maxLength: 8 }),
        (routes, reqs) => {
          // Hono's routers differ among themselves on duplicate param names; keep names unique per route.
          const uniq = routes.filter(([, p]) => (p.match(/:id/g) ?? []).length <= 1 && (p.match(/:name/g) ?? []).length <= 1);
          const ours = new PorticoRouter<string>(impl.hot);
          const trie = new TrieRouter<string>();
          let regexp: RegExpRouter<string> | undefined = new RegExpRouter<string>();
          uniq.forEach(([m, p], i) => {
            for (const r of [ours, trie]) r.add(m, p, `h${i}`);
          });
          try {
            uniq.forEach(([m, p], i) => {
              regexp!.add(m, p, `h${i}`);
            });
            regexp.match('GET', '/');
          } catch (e) {
            // RegExpRouter itself gives up on some ambiguous sets (that is what SmartRouter is for).
            if (!(e instanceof UnsupportedPathError)) throw e;
            regexp = undefined;
          }
          for (const [m, p] of reqs) {
            const expected = normalize(trie.match(m, p));
            if (expected.length > 0) hits++;
            expect(normalize(ours.match(m, p))).toEqual(expected);
            if (regexp) expect(normalize(regexp.match(m, p))).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(hits).toBeGreaterThan(300);
  });
});

describeSkippedBuilds('PorticoRouter');
