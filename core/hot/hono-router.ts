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
 * @example
 * const app = new Hono({ router: new PorticoRouter(instantiateHot(module)) });
 */
import { METHOD_NAME_ALL, UnsupportedPathError, type Params, type Result, type Router } from 'hono/router';
import type { HotExports, SegmentSpec, TableEntry } from './types.ts';
import { METHOD_BITS, methodBit } from './types.ts';
import { compileRouteTable } from './compile-route-table.ts';
import { HotMatcher, loadRouteTable } from './matcher.ts';
import { createTwinHot } from './twin.ts';

interface RouteRecord<T> {
  method: string;
  handler: T;
  /** Param names in capture order; the rest of a trailing `/*` is captured but not named. */
  names: string[];
  /** Set for methods without a bit of their own: the matcher can only say "some other method". */
  customMethod: boolean;
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

export class PorticoRouter<T> implements Router<T> {
  name = 'PorticoRouter';
  private readonly hot: HotExports;
  private readonly routes: RouteRecord<T>[] = [];
  private readonly entries: TableEntry[] = [];
  private matcher: HotMatcher | undefined;

  /** @param hot the hot-path module to match in; default: a fresh TypeScript twin. */
  constructor(hot?: HotExports) {
    this.hot = hot ?? createTwinHot();
  }

  add(method: string, path: string, handler: T): void {
    const { segments, rest, names } = parsePattern(path);
    const upper = method.toUpperCase();
    const known = upper !== METHOD_NAME_ALL && upper in METHOD_BITS && upper !== 'OTHER';
    const customMethod = upper !== METHOD_NAME_ALL && !known;
    const methods = upper === METHOD_NAME_ALL ? 0 : known ? methodBit(upper) : METHOD_BITS.OTHER;
    this.entries.push({ host: { kind: 'any' }, methods, path: { kind: 'segments', segments, rest } });
    this.routes.push({ method: upper, handler, names, customMethod });
    // Routes added after a match take effect on the next match (the table is compiled again;
    // the old one stays in linear memory, so add routes at startup).
    this.matcher = undefined;
  }

  match(method: string, path: string): Result<T> {
    const matcher = (this.matcher ??= new HotMatcher(this.hot, loadRouteTable(this.hot, compileRouteTable(this.entries))));
    const upper = method.toUpperCase();
    const bit = methodBit(upper);
    const found: [T, Params][] = [];
    let idx = matcher.match(bit, '', path, 0);
    while (idx >= 0) {
      const route = this.routes[idx]!;
      if (!route.customMethod || route.method === upper) {
        const params: Params = {};
        for (let i = 0; i < route.names.length; i++) {
          params[route.names[i]!] = path.slice(matcher.paramStart(i), matcher.paramEnd(i));
        }
        found.push([route.handler, params]);
      }
      idx = matcher.matchNext(bit, idx + 1);
    }
    return [found];
  }
}
