/**
 * A Hono Router backed by the hot-path matcher, so it can stand in for RegExpRouter or
 * TrieRouter (and sit first in a SmartRouter).
 *
 * Supported patterns: static segments, `:name` params (one non-empty segment), a trailing `/*`
 * (zero or more segments: `/api/*` matches `/api`, `/api/` and `/api/x/y`), and `*` or `/*`
 * alone (every path). Anything else (`:id{[0-9]+}`, `:id?`, `*` inside a path, `/api*`)
 * throws hono's UnsupportedPathError from `add`, which makes SmartRouter use the next router.
 *
 * Like Hono's own routers, `match` returns every matching handler in registration order
 * (middleware first if it was added first), each with its named params.
 *
 * The public class is PorticoRouter (portico-router.ts), which adds a default hot path; this file
 * holds the router itself, HotRouter, which needs one given.
 *
 * @example
 * const app = new Hono({ router: new HotRouter(instantiateHot(wasmModule)) });
 */
import { METHOD_NAME_ALL, UnsupportedPathError, type ParamIndexMap, type Result, type Router } from 'hono/router';
import type { HotExports, SegmentSpec, TableEntry } from './types.ts';
import { METHOD_BITS, methodBit } from './types.ts';
import { compileRouteTable } from './compile-route-table.ts';
import { HotMatcher, loadRouteTable, type LoadedTable } from './matcher.ts';

interface RouteRecord<T> {
  method: string;
  handler: T;
  /** Params captured by the pattern, in order (duplicates included); the rest is not counted. */
  captures: number;
  /**
   * Name → capture index, for each distinct name: its first capture, as Hono's routers answer
   * `/:id/:id` (the first segment). Shared by every answer that starts its params at 0.
   */
  indexMap: ParamIndexMap;
  /** Set for methods without a bit of their own: the matcher can only say "some other method". */
  customMethod: boolean;
  /**
   * When this route is the only one that can match: its `[handler, indexMap]` list, built once
   * and shared by every match, as Hono's RegExpRouter shares its handler lists (callers read
   * router results, they do not change them). With no params, `alone` is the whole answer.
   */
  aloneList?: [T, ParamIndexMap][];
  alone?: Result<T>;
  /** `[handler, indexMap shifted by k]` for answers whose params start at stash index k. */
  pairs: ([T, ParamIndexMap] | undefined)[];
}

const PARAM_NAME = /^[^{}?*/:]+$/;

function parsePattern(path: string): { segments: SegmentSpec[]; rest: boolean; names: string[] } {
  if (path === '*' || path === '/*') return { segments: [], rest: true, names: [] };
  if (!path.startsWith('/')) throw new UnsupportedPathError(path);
  const parts = path.slice(1).split('/');
  let rest = false;
  if (parts.length > 0 && parts[parts.length - 1] === '*') {
    parts.pop();
    rest = true;
  }
  const names: string[] = [];
  const segments: SegmentSpec[] = parts.map((part) => {
    if (part.includes('*')) throw new UnsupportedPathError(path);
    if (part.startsWith(':')) {
      const name = part.slice(1);
      if (!PARAM_NAME.test(name)) throw new UnsupportedPathError(path);
      names.push(name);
      return { kind: 'param' };
    }
    return { kind: 'static', value: part };
  });
  return { segments, rest, names };
}

/** Route i can share a matching request with route j (same path and method possible). */
function overlaps(a: TableEntry, b: TableEntry): boolean {
  if (a.methods !== 0 && b.methods !== 0 && (a.methods & b.methods) === 0) return false;
  if (a.path.kind !== 'segments' || b.path.kind !== 'segments') return true;
  const sa = a.path.segments;
  const sb = b.path.segments;
  const n = Math.min(sa.length, sb.length);
  for (let k = 0; k < n; k++) {
    const x = sa[k]!;
    const y = sb[k]!;
    // A param takes one non-empty segment; two literals must be equal.
    if (
      x.kind === 'static' && y.kind === 'static'
        ? x.value !== y.value
        : (x.kind === 'static' ? x.value : y.kind === 'static' ? y.value : 'p') === ''
    ) {
      return false;
    }
  }
  // Equal lengths: the path of exactly those segments matches both (a rest may take nothing).
  // Otherwise the shorter one must have a rest to take the longer one's extra segments.
  return sa.length === sb.length || (sa.length < sb.length ? a.path.rest : b.path.rest);
}

/** Above this many routes, `last` is not computed (quadratic) and every match walks on. */
const MAX_ROUTES_FOR_LAST = 4096;

/**
 * last[i] = 1 when no later route can match a request that route i matches: a match that
 * finds i can stop there instead of asking the module again from i + 1.
 */
function lastAnswers(entries: TableEntry[]): Uint8Array {
  const last = new Uint8Array(entries.length);
  if (entries.length > MAX_ROUTES_FOR_LAST) return last;
  for (let i = 0; i < entries.length; i++) {
    let alone = 1;
    for (let j = i + 1; j < entries.length; j++) {
      if (overlaps(entries[i]!, entries[j]!)) {
        alone = 0;
        break;
      }
    }
    last[i] = alone;
  }
  return last;
}

/** The params of every shared answer: frozen, so that no request can leak a value into the next. */
const NO_PARAMS: ParamIndexMap = Object.freeze({});
/** The values of every answer without params. */
const NO_STASH: string[] = Object.freeze([]) as unknown as string[];
/** The answer of every miss (Hono reads `result[0].length`); frozen, shared. */
const NOT_FOUND = Object.freeze([Object.freeze([])]) as unknown as Result<never>;

/** Name → first capture index, shifted by `offset`: Hono's ParamIndexMap for a stash. */
function indexMapOf(names: string[], offset: number): ParamIndexMap {
  const map: ParamIndexMap = {};
  names.forEach((name, k) => {
    if (!(name in map)) map[name] = offset + k;
  });
  return Object.freeze(map);
}

/**
 * PorticoRouter on a hot path that must be given: what the gateway uses (each target loads its
 * own module), so that bundles do not carry the embedded copy behind PorticoRouter's default.
 */
export class HotRouter<T> implements Router<T> {
  name = 'PorticoRouter';
  private readonly hot: HotExports;
  private readonly routes: RouteRecord<T>[] = [];
  private readonly entries: TableEntry[] = [];
  /** Param names per route, in capture order (for the shifted index maps). */
  private readonly names: string[][] = [];
  private matcher: HotMatcher | undefined;
  private table: LoadedTable | undefined;
  private last: Uint8Array = new Uint8Array(0);
  /** The method of the last match as given, upper-cased, and its bit (toUpperCase is not free). */
  private lastMethod = '';
  private lastUpper = '';
  private lastBit = 0;

  /** @param hot the hot-path module to match in. */
  constructor(hot: HotExports) {
    this.hot = hot;
  }

  add(method: string, path: string, handler: T): void {
    const { segments, rest, names } = parsePattern(path);
    const upper = method.toUpperCase();
    const known = upper !== METHOD_NAME_ALL && upper in METHOD_BITS && upper !== 'OTHER';
    const customMethod = upper !== METHOD_NAME_ALL && !known;
    const methods = upper === METHOD_NAME_ALL ? 0 : known ? methodBit(upper) : METHOD_BITS.OTHER;
    this.entries.push({ host: { kind: 'any' }, methods, path: { kind: 'segments', segments, rest } });
    const indexMap = indexMapOf(names, 0);
    this.routes.push({ method: upper, handler, captures: names.length, indexMap, customMethod, pairs: [] });
    this.names.push(names);
    // Routes added after a match take effect on the next match: the table is compiled again,
    // into the old one's memory when it fits (see build).
    this.matcher = undefined;
  }

  private build(): HotMatcher {
    this.last = lastAnswers(this.entries);
    this.routes.forEach((route, i) => {
      const alone = this.last[i] === 1 && !route.customMethod;
      route.aloneList = alone ? [[route.handler, route.captures === 0 ? NO_PARAMS : route.indexMap]] : undefined;
      route.alone = alone && route.captures === 0 ? [route.aloneList!, NO_STASH] : undefined;
    });
    const blob = compileRouteTable(this.entries);
    // A rebuild takes the old table's memory, or reserves twice what it needs, so that routes
    // added one at a time between matches cost amortized memory, not a new table each.
    const old = this.table;
    this.table = loadRouteTable(this.hot, blob, {
      ...(old ? { replace: old } : {}),
      reserveBytes: old ? 2 * blob.byteLength : blob.byteLength,
    });
    this.matcher = new HotMatcher(this.hot, this.table);
    return this.matcher;
  }

  /**
   * Hono's Result in its stash form, `[[handler, name → index][], values]`, as RegExpRouter
   * answers: the handler lists and index maps are built once per route and shared; per match
   * only the values array (and, when several routes match, the list) is new.
   */
  match(method: string, path: string): Result<T> {
    const matcher = this.matcher ?? this.build();
    if (method !== this.lastMethod) {
      this.lastUpper = method.toUpperCase();
      this.lastBit = methodBit(this.lastUpper);
      this.lastMethod = method;
    }
    const bit = this.lastBit;
    let idx = matcher.match(bit, '', path, 0);
    if (idx < 0) return NOT_FOUND;
    const routes = this.routes;
    const first = routes[idx]!;
    if (first.aloneList !== undefined) {
      if (first.alone !== undefined) return first.alone;
      return [first.aloneList, matcher.paramsArray(path, first.captures)];
    }
    const upper = this.lastUpper;
    const found: [T, ParamIndexMap][] = [];
    const stash: string[] = [];
    const last = this.last;
    for (;;) {
      const route = routes[idx]!;
      if (!route.customMethod || route.method === upper) {
        found.push(route.captures === 0 ? this.pairAt(route, idx, 0) : this.pairAt(route, idx, stash.length));
        if (route.captures !== 0) matcher.sliceParams(path, route.captures, stash);
      }
      // No later route can match this request too: done without another crossing.
      if (last[idx] === 1) break;
      idx = matcher.matchNext(bit, idx + 1);
      if (idx < 0) break;
    }
    return [found, stash];
  }

  /** The shared `[handler, index map]` of route `i` for params starting at stash index `offset`. */
  private pairAt(route: RouteRecord<T>, i: number, offset: number): [T, ParamIndexMap] {
    let pair = route.pairs[offset];
    if (pair === undefined) {
      pair = [
        route.handler,
        route.captures === 0 ? NO_PARAMS : offset === 0 ? route.indexMap : indexMapOf(this.names[i]!, offset),
      ];
      route.pairs[offset] = pair;
    }
    return pair;
  }
}
