// PorticoRouter against Hono's own routers through Hono's Router interface (`add`, then
// `match`), on random route sets that include what PorticoRouter does not take: a pattern it
// cannot compile must throw UnsupportedPathError from `add` (SmartRouter then falls back to the
// next router), and every pattern it takes must answer as Hono's routers do (handlers in order,
// params; duplicate names take the first segment). Every build of the hot path runs it.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import { UnsupportedPathError, type Result, type Router } from 'hono/router';
import { PorticoRouter } from '../../core/hot/index.ts';
import { describeSkippedBuilds, loadImpls } from './_impls.ts';

const impls = await loadImpls();
const RUNS = 1500;

/** Handlers and params of a Result in one form, whichever of Hono's two shapes it has. */
function normalize(result: Result<string>): [string, Record<string, string>][] {
  const [matches, stash] = result as [[string, Record<string, string | number>][], (string | undefined)[] | undefined];
  return matches.map(([h, map]) => {
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(map)) params[k] = stash && typeof v === 'number' ? stash[v]! : String(v);
    return [h, params];
  });
}

// Segments of patterns: statics (some with characters a regex would treat specially), params
// (names repeat within a route), an empty segment, and shapes PorticoRouter refuses.
const patternSegment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'api', 'v1', 'x.y', 'a-b', '42') },
  { weight: 5, arbitrary: fc.constantFrom(':id', ':name', ':id', ':x.y') },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('*', ':id{[0-9]+}', ':id?', 'a*') },
);
const pattern = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('*', '/*', '/') },
  {
    weight: 10,
    arbitrary: fc
      .tuple(fc.array(patternSegment, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '', '/*', '/'))
      .map(([segs, tail]) => '/' + segs.join('/') + tail),
  },
);
const method = fc.constantFrom('GET', 'GET', 'POST', 'ALL', 'PURGE');
const requestSegment = fc.constantFrom('a', 'b', 'api', 'v1', 'x.y', 'a-b', '42', 'x', '', 'é', '%20');
const request = fc.tuple(
  fc.constantFrom('GET', 'POST', 'PURGE', 'PUT'),
  fc.array(requestSegment, { maxLength: 5 }).map((s) => '/' + s.join('/')),
);

/** Adds every route to `router`; false when it threw UnsupportedPathError (anything else is rethrown). */
function addAll(router: Router<string>, routes: [string, string][]): boolean {
  try {
    routes.forEach(([m, p], i) => {
      router.add(m, p, `h${i}`);
    });
    return true;
  } catch (error) {
    if (!(error instanceof UnsupportedPathError)) throw error;
    return false;
  }
}

describe.each(impls.map((impl) => [impl.name, impl] as const))(
  'PorticoRouter through the Router interface on %s',
  (_name, impl) => {
    it('answers /:id/:id with the first segment, as RegExpRouter and TrieRouter do', () => {
      for (const make of [
        () => new PorticoRouter<string>(impl.hot),
        () => new TrieRouter<string>(),
        () => new RegExpRouter<string>(),
      ]) {
        const r = make();
        r.add('GET', '/:id/:id', 'dup');
        expect(normalize(r.match('GET', '/123/456'))).toEqual([['dup', { id: '123' }]]);
      }
      const r = new PorticoRouter<string>(impl.hot);
      r.add('GET', '/:id/:id', 'dup');
      r.add('GET', '/:a/:id/*', 'rest');
      expect(normalize(r.match('GET', '/123/456'))).toEqual([
        ['dup', { id: '123' }],
        ['rest', { a: '123', id: '456' }],
      ]);
    });

    it('answers as TrieRouter (and RegExpRouter where it takes the routes) or refuses with UnsupportedPathError, on random route sets', () => {
      const seen = { sets: 0, portico: 0, refused: 0, hits: 0, regexpCompared: 0 };
      fc.assert(
        fc.property(
          fc.array(fc.tuple(method, pattern), { minLength: 1, maxLength: 10 }),
          fc.array(request, { minLength: 1, maxLength: 8 }),
          (routes, requests) => {
            seen.sets++;
            const trie = new TrieRouter<string>();
            if (!addAll(trie, routes)) return; // not a route set Hono's reference takes either
            const ours = new PorticoRouter<string>(impl.hot);
            const oursTook = addAll(ours, routes);
            if (oursTook) seen.portico++;
            else seen.refused++;
            // What an app gets: SmartRouter with PorticoRouter first and a fallback.
            const smart = new SmartRouter<string>({ routers: [new PorticoRouter<string>(impl.hot), new TrieRouter<string>()] });
            addAll(smart, routes);
            const regexp = new RegExpRouter<string>();
            let regexpTook = addAll(regexp, routes);
            for (const [m, p] of requests) {
              const expected = normalize(trie.match(m, p));
              if (expected.length > 0) seen.hits++;
              if (oursTook)
                expect({ route: routes, m, p, got: normalize(ours.match(m, p)) }).toEqual({ route: routes, m, p, got: expected });
              expect(normalize(smart.match(m, p))).toEqual(expected);
              if (regexpTook) {
                let viaRegexp: [string, Record<string, string>][];
                try {
                  viaRegexp = normalize(regexp.match(m, p));
                } catch (error) {
                  // RegExpRouter builds on the first match and may give up then.
                  if (!(error instanceof UnsupportedPathError)) throw error;
                  regexpTook = false;
                  continue;
                }
                // Where Hono's two routers agree, PorticoRouter must too.
                if (oursTook && JSON.stringify(viaRegexp) === JSON.stringify(expected)) {
                  seen.regexpCompared++;
                  expect(normalize(ours.match(m, p))).toEqual(viaRegexp);
                }
              }
            }
          },
        ),
        { numRuns: RUNS },
      );
      // The generator reaches all of it: route sets PorticoRouter takes and refuses, and hits.
      expect(seen.portico).toBeGreaterThan(RUNS / 4);
      expect(seen.refused).toBeGreaterThan(RUNS / 20);
      expect(seen.hits).toBeGreaterThan(RUNS / 2);
      expect(seen.regexpCompared).toBeGreaterThan(RUNS / 4);
    });
  },
);

describeSkippedBuilds('PorticoRouter through the Router interface');
