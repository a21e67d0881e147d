/**
 * The routers in the race, behind one adapter shape: `build(table)` registers the table's routes
 * (route index as the handler), `call` is the lookup that gets timed (each router's own lookup,
 * nothing added), and `decode` turns its raw answer into a MatchOutcome for the checks (never
 * timed).
 */
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import type { Router as HonoRouter } from 'hono/router';
import FindMyWay from 'find-my-way';
import { addRoute, createRouter, findRoute } from 'rou3';
import { compileRouter } from 'rou3/compiler';
import { Memoirist } from 'memoirist';
import KoaTreeRouter from 'koa-tree-router';
import Medley from '@medley/router';
import { parsePattern, type MatchOutcome, type ParsedPattern, type RouteTable } from './_tables.ts';

/**
 * The lookup that gets timed, as a JavaScript expression over `M`, `H`, `P` (method, host,
 * path), `self` and `fn`. The harness compiles it into a fresh function per cell (`new
 * Function`), so no call site, and no type feedback, is shared between contestants or tables.
 * `H` is '' for routers that get the host as a path segment.
 */
export interface LookupCall {
  expr: string;
  self: unknown;
  fn?: unknown;
}

/** A router built for one table. */
export interface BuiltRouter {
  call: LookupCall;
  /** Reads the lookup's answer; call it right after the lookup (portico keeps the last match). */
  decode: (raw: unknown, path: string) => MatchOutcome;
}

/** A fresh function that runs the lookup once (used by the checks). */
export function compileLookup(call: LookupCall): (method: string, host: string, path: string) => unknown {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see LookupCall
  const make = new Function('self', 'fn', `return function lookup(M, H, P) { return ${call.expr}; };`) as (
    self: unknown,
    fn: unknown,
  ) => (method: string, host: string, path: string) => unknown;
  return make(call.self, call.fn);
}

export interface Contestant {
  id: string;
  label: string;
  /** 'js' contestants are the peers that ratios are taken against; 'floor' is no router. */
  family: ContestantFamily;
  /** Whether the router gets the host as its own argument; the JS peers get `/{host}/path`. */
  hostRouting: boolean;
  /** Whether the router reports what a trailing `*` took. */
  capturesRest: boolean;
  build: (table: RouteTable) => BuiltRouter;
}

export type ContestantFamily = 'portico' | 'js' | 'floor';

/** A contestant that could not be set up, and why. */
export interface UnavailableContestant {
  id: string;
  label: string;
  reason: string;
}

export const NOT_FOUND: MatchOutcome = { route: -1, params: [], rest: null, matches: 0 };

/** The path a JS peer registers for a route: host tables get the host as the first segment. */
export function peerPath(table: RouteTable, index: number): string {
  const route = table.routes[index]!;
  return table.hosts ? `/${route.host}${route.path}` : route.path;
}

function patternsOf(table: RouteTable): ParsedPattern[] {
  return table.routes.map((r) => parsePattern(r.path));
}

/** Builds an outcome from the matched route and a name → value lookup. */
function outcomeFrom(
  route: number,
  patterns: ParsedPattern[],
  param: (name: string) => string | undefined,
  rest: string | null | undefined,
  matches: number,
): MatchOutcome {
  const pattern = patterns[route];
  if (!pattern) return { route, params: [], rest, matches };
  return {
    route,
    params: pattern.paramNames.map((n) => param(n) ?? '<missing>'),
    rest: pattern.rest ? rest : null,
    matches,
  };
}

/** Hono routers answer every matching handler, as [handler, params or stash index][] (+ stash). */
function honoContestant(id: string, label: string, create: () => HonoRouter<number>): Contestant {
  return {
    id,
    label,
    family: 'js',
    hostRouting: false,
    // Hono's `/static/*` matches but captures nothing.
    capturesRest: false,
    build(table) {
      const router = create();
      table.routes.forEach((r, i) => {
        router.add(r.method, peerPath(table, i), i);
      });
      const patterns = patternsOf(table);
      return {
        call: { expr: 'self.match(M, P)', self: router },
        decode(raw) {
          const [handlers, stash] = raw as [[number, Record<string, string | number>][], string[]?];
          const first = handlers[0];
          if (!first) return NOT_FOUND;
          const [route, map] = first;
          const param = (name: string): string | undefined => {
            const v = map[name];
            return v === undefined ? undefined : stash ? stash[v as number] : (v as string);
          };
          return outcomeFrom(route, patterns, param, undefined, handlers.length);
        },
      };
    },
  };
}

const findMyWay: Contestant = {
  id: 'find-my-way',
  label: 'find-my-way',
  family: 'js',
  hostRouting: false,
  capturesRest: true,
  build(table) {
    const router = FindMyWay();
    const noop = (): void => {};
    table.routes.forEach((r, i) => {
      router.on(r.method as 'GET', peerPath(table, i), noop, { route: i });
    });
    const patterns = patternsOf(table);
    return {
      call: { expr: 'self.find(M, P)', self: router },
      decode(raw) {
        const found = raw as { store: { route: number }; params: Record<string, string | undefined> } | null;
        if (!found) return NOT_FOUND;
        return outcomeFrom(found.store.route, patterns, (n) => found.params[n], found.params['*'], 1);
      },
    };
  },
};

function rou3Outcome(raw: unknown, patterns: ParsedPattern[]): MatchOutcome {
  const found = raw as { data: number; params?: Record<string, string> } | undefined;
  if (!found) return NOT_FOUND;
  const params = found.params ?? {};
  // rou3 names an unnamed `*` capture "0"; a missing key means it took nothing.
  return outcomeFrom(found.data, patterns, (n) => params[n], params['0'] ?? '', 1);
}

function buildRou3(table: RouteTable): ReturnType<typeof createRouter<number>> {
  const router = createRouter<number>();
  table.routes.forEach((r, i) => {
    addRoute(router, r.method, peerPath(table, i), i);
  });
  return router;
}

const rou3: Contestant = {
  id: 'rou3',
  label: 'rou3',
  family: 'js',
  hostRouting: false,
  capturesRest: true,
  build(table) {
    const router = buildRou3(table);
    const patterns = patternsOf(table);
    return {
      call: { expr: 'fn(self, M, P)', self: router, fn: findRoute },
      decode: (raw) => rou3Outcome(raw, patterns),
    };
  },
};

const rou3Compiled: Contestant = {
  id: 'rou3-compiled',
  label: 'rou3 (compiled)',
  family: 'js',
  hostRouting: false,
  capturesRest: true,
  build(table) {
    const match = compileRouter(buildRou3(table));
    const patterns = patternsOf(table);
    return {
      call: { expr: 'fn(M, P)', self: null, fn: match },
      decode: (raw) => rou3Outcome(raw, patterns),
    };
  },
};

const memoirist: Contestant = {
  id: 'memoirist',
  label: 'memoirist',
  family: 'js',
  hostRouting: false,
  capturesRest: true,
  build(table) {
    const router = new Memoirist<number>();
    table.routes.forEach((r, i) => {
      router.add(r.method, peerPath(table, i), i);
    });
    const patterns = patternsOf(table);
    return {
      call: { expr: 'self.find(M, P)', self: router },
      decode(raw) {
        const found = raw as { store: number; params: Record<string, string | undefined> } | null;
        if (!found) return NOT_FOUND;
        return outcomeFrom(found.store, patterns, (n) => found.params[n], found.params['*'], 1);
      },
    };
  },
};

/** koa-tree-router (httprouter's tree): a last `*` becomes a named catch-all, `*rest`. */
const koaTreeRouter: Contestant = {
  id: 'koa-tree-router',
  label: 'koa-tree-router',
  family: 'js',
  hostRouting: false,
  // Its catch-all value starts with the '/' before the rest.
  capturesRest: false,
  build(table) {
    const router = new KoaTreeRouter();
    table.routes.forEach((r, i) => {
      const path = peerPath(table, i);
      router.on(r.method, path.endsWith('/*') ? `${path}rest` : path, () => i);
    });
    const patterns = patternsOf(table);
    return {
      call: { expr: 'self.find(M, P)', self: router },
      decode(raw) {
        const found = raw as { handle: (() => number)[] | null; params: { key: string; value: string }[] };
        if (!found.handle) return NOT_FOUND;
        const route = found.handle[0]!();
        return outcomeFrom(route, patterns, (n) => found.params.find((p) => p.key === n)?.value, undefined, 1);
      },
    };
  },
};

/** @medley/router: one store per path, the methods are the store's keys. */
function medleyFind(
  router: { find(path: string): { store: Record<string, number>; params: Record<string, string> } | null },
  method: string,
  path: string,
): { route: number; params: Record<string, string> } | null {
  const found = router.find(path);
  if (found === null) return null;
  const route = found.store[method];
  return route === undefined ? null : { route, params: found.params };
}

const medley: Contestant = {
  id: 'medley',
  label: '@medley/router',
  family: 'js',
  hostRouting: false,
  capturesRest: true,
  build(table) {
    const router = new Medley();
    table.routes.forEach((r, i) => {
      const store = router.register(peerPath(table, i)) as Record<string, number>;
      // The first route of a (path, method) wins, as in the table's precedence.
      if (store[r.method] === undefined) store[r.method] = i;
    });
    const patterns = patternsOf(table);
    return {
      call: { expr: 'fn(self, M, P)', self: router, fn: medleyFind },
      decode(raw) {
        const found = raw as { route: number; params: Record<string, string> } | null;
        if (!found) return NOT_FOUND;
        return outcomeFrom(found.route, patterns, (n) => found.params[n], found.params['*'], 1);
      },
    };
  },
};

/**
 * Not a router: the timed function with the lookup replaced by keeping the path. Its time is
 * what the harness itself costs per call (the URL pick and the slice in mode 2), the floor
 * under every cell of its column. It is not checked and not a peer.
 */
export const harnessFloor: Contestant = {
  id: 'floor',
  label: '(harness floor, no lookup)',
  family: 'floor',
  hostRouting: false,
  capturesRest: false,
  build() {
    return {
      call: { expr: '(self.sink = P)', self: { sink: '' } },
      decode: () => NOT_FOUND,
    };
  },
};

/** The JS peers, in the order they are listed in the results. */
export function jsPeers(): Contestant[] {
  return [
    honoContestant('hono-regexp', 'Hono RegExpRouter', () => new RegExpRouter<number>()),
    honoContestant('hono-trie', 'Hono TrieRouter', () => new TrieRouter<number>()),
    honoContestant(
      'hono-smart',
      'Hono SmartRouter',
      () => new SmartRouter<number>({ routers: [new RegExpRouter<number>(), new TrieRouter<number>()] }),
    ),
    findMyWay,
    rou3,
    rou3Compiled,
    memoirist,
    koaTreeRouter,
    medley,
  ];
}
