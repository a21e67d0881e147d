/**
 * Matches a normalized request against the compiled routes. The hot path does host, method and
 * path over the binary table; this file adds what the hot path leaves to JavaScript (regex paths
 * and header conditions) and, for `explain`, the reason every other route lost.
 */
import { RE2JS } from 're2js';
import { compileRouteTable, createMatcher, type HotExports } from '../hot/index.ts';
import { METHOD_BITS, methodBit, type Matcher, type TableEntry } from '../hot/types.ts';
import {
  decodeTable,
  rankEntries,
  sortKeyOf,
  type CompiledConfig,
  type CompiledEntry,
  type CompiledRoute,
} from '../config/compile.ts';

/** Every method bit at once: used to ask "would any method have matched?". */
const ALL_METHODS = (METHOD_BITS.OTHER << 1) - 1;

export interface RouteMatch {
  route: CompiledRoute;
  /** Param values, percent-decoded. The rest of a prefix route is under `*`. */
  params: Record<string, string>;
}

export type FindResult =
  | { kind: 'match'; match: RouteMatch }
  /** Some route matches host and path, but not this method. */
  | { kind: 'method'; allow: string[] }
  | { kind: 'none' };

export interface HeaderLookup {
  get(name: string): string | null;
}

export type LossReason = 'host' | 'method' | 'path' | 'regex' | 'headers' | 'precedence';

export interface ExplainCandidate {
  route: CompiledRoute;
  /** The host this entry of the route was for (`*` for any). */
  host: string;
  outcome: 'winner' | LossReason;
  /** Human-readable reason, e.g. `header x-canary: expected "1", got none`. */
  detail: string;
}

export interface Explanation {
  result: FindResult;
  candidates: ExplainCandidate[];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function headerMismatch(route: CompiledRoute, headers: HeaderLookup): string | null {
  for (const cond of route.headers) {
    const got = headers.get(cond.name);
    if (cond.present !== undefined) {
      if ((got !== null) !== cond.present) {
        return `header ${cond.name}: expected ${cond.present ? 'present' : 'absent'}, got ${got === null ? 'none' : 'a value'}`;
      }
    } else if (got !== cond.equals) {
      return `header ${cond.name}: expected ${JSON.stringify(cond.equals)}, got ${got === null ? 'none' : JSON.stringify(got)}`;
    }
  }
  return null;
}

function hostLabel(entry: CompiledEntry): string {
  return entry.host.kind === 'any' ? '*' : entry.host.kind === 'suffix' ? `*${entry.host.value}` : entry.host.value;
}

/**
 * Why `loser` ranks below `winner` when both match: the rule of the one comparison the table's
 * sort used (`rankEntries` in config/compile.ts), so this can never drift from the sort.
 */
function whyBelow(loser: CompiledRoute, loserEntry: CompiledEntry, winner: CompiledRoute, winnerEntry: CompiledEntry): string {
  const l = sortKeyOf(loser, loserEntry);
  const w = sortKeyOf(winner, winnerEntry);
  const { rule } = rankEntries(w, l);
  switch (rule) {
    case 'fallback':
      return 'fallback routes rank last';
    case 'hostRank':
      return `a route for host ${hostDescription(winnerEntry)} ranks above a route for ${hostDescription(loserEntry)}`;
    case 'hostLen':
      return `the longer host ${hostLabel(winnerEntry)} ranks above ${hostLabel(loserEntry)}`;
    case 'kind':
      return `${winner.kind} routes rank above ${loser.kind} routes`;
    case 'prefixLen':
      return `a longer static prefix ranks first (${winner.pattern.slice(0, w.prefixLen) || '/'} against ${loser.pattern.slice(0, l.prefixLen) || '/'})`;
    case 'shape':
      return 'static segments rank above params, left to right';
    case 'segmentCount':
      return 'a pattern with more segments ranks first';
    case 'headerCount':
      return `more header conditions rank first (${w.headerCount} against ${l.headerCount})`;
    case 'index':
      return 'declared later in the config';
  }
}

function hostDescription(entry: CompiledEntry): string {
  return entry.host.kind === 'any' ? 'any host' : entry.host.kind === 'suffix' ? `*${entry.host.value}` : entry.host.value;
}

export interface RouteMatcher {
  /** Finds the winning route for a normalized request. `host` is lower-case with no port. */
  find(method: string, host: string, path: string, headers: HeaderLookup): FindResult;
  /** Like find, and says why every other route lost. Slow: for `portico explain`, not requests. */
  explain(method: string, host: string, path: string, headers: HeaderLookup): Explanation;
}

/**
 * @example
 * const matcher = createRouteMatcher(compiled, createTwinHot());
 * matcher.find('GET', 'api.example.com', '/users/42', new Headers());
 */
export function createRouteMatcher(config: CompiledConfig, hot: HotExports): RouteMatcher {
  const matcher = createMatcher(hot, decodeTable(config.table));
  const entries = config.entries;
  const routes = config.routes;
  // Regex routes run on RE2 (re2js, a pure-JS port: no eval, nothing native, so the same engine on
  // every target), never on the runtime's backtracking RegExp: matching is linear in the path's
  // length whatever the pattern, so one request cannot stall the event loop with `^/r/(a+)+$`.
  // compileConfig refuses what RE2 cannot compile (lookaround, backreferences).
  const regexes = routes.map((r) => (r.regex !== undefined ? RE2JS.compile(r.regex) : null));

  function paramsOf(m: Matcher, route: CompiledRoute, path: string): Record<string, string> {
    const params: Record<string, string> = {};
    const n = m.paramCount();
    for (let i = 0; i < n; i++) params[route.paramNames[i] ?? String(i)] = safeDecode(path.slice(m.paramStart(i), m.paramEnd(i)));
    return params;
  }

  /** Walks the table from `from`; returns the entry index that wins, honouring regex and headers. */
  function walk(
    m: Matcher,
    bit: number,
    host: string,
    path: string,
    headers: HeaderLookup,
    from: number,
  ): { index: number; groups?: Record<string, string> } {
    // The candidates after the first reuse the request already written into the module: regex
    // and header checks in between do not touch it.
    for (let i = m.match(bit, host, path, from); i >= 0; i = m.matchNext(bit, i + 1)) {
      const entry = entries[i];
      if (!entry) break;
      const route = routes[entry.route];
      if (!route) break;
      let groups: Record<string, string> | undefined;
      const re = regexes[entry.route];
      if (re) {
        const found = re.exec(path) as (string[] & { groups?: Record<string, string | undefined> }) | null;
        if (!found) continue;
        groups = (found.groups ?? {}) as Record<string, string>;
      }
      if (headerMismatch(route, headers) !== null) continue;
      return groups ? { index: i, groups } : { index: i };
    }
    return { index: -1 };
  }

  function find(method: string, host: string, path: string, headers: HeaderLookup): FindResult {
    const bit = methodBit(method);
    const hit = walk(matcher, bit, host, path, headers, 0);
    if (hit.index >= 0) {
      const entry = entries[hit.index] as CompiledEntry;
      const route = routes[entry.route] as CompiledRoute;
      if (hit.groups) {
        const params: Record<string, string> = {};
        for (const [k, val] of Object.entries(hit.groups)) if (val !== undefined) params[k] = safeDecode(val);
        return { kind: 'match', match: { route, params } };
      }
      return { kind: 'match', match: { route, params: paramsOf(matcher, route, path) } };
    }
    // Would another method have matched? Then the answer is 405 with Allow (RFC 9110 §15.5.6).
    const allow = new Set<string>();
    for (let from = 0; ; ) {
      const any = walk(matcher, ALL_METHODS, host, path, headers, from);
      if (any.index < 0) break;
      const route = routes[(entries[any.index] as CompiledEntry).route] as CompiledRoute;
      // A fallback answers any path; it would make every 404 a 405.
      if (route.kind === 'fallback') break;
      if (route.methods === null) break;
      for (const name of route.methods) allow.add(name);
      from = any.index + 1;
    }
    return allow.size > 0 ? { kind: 'method', allow: [...allow].sort() } : { kind: 'none' };
  }

  let relaxed: { anyMethod: Matcher; anyHost: Matcher } | null = null;
  function relaxedMatchers(): { anyMethod: Matcher; anyHost: Matcher } {
    if (relaxed) return relaxed;
    const base: TableEntry[] = entries.map((e) => ({ host: e.host, methods: e.methods, path: e.path }));
    relaxed = {
      anyMethod: createMatcher(hot, compileRouteTable(base.map((e) => ({ ...e, methods: 0 })))),
      anyHost: createMatcher(hot, compileRouteTable(base.map((e) => ({ ...e, methods: 0, host: { kind: 'any' as const } })))),
    };
    return relaxed;
  }

  /** The set of entry indexes a matcher accepts for this request, ignoring regex and headers. */
  function accepted(m: Matcher, bit: number, host: string, path: string): Set<number> {
    const out = new Set<number>();
    for (let i = m.match(bit, host, path, 0); i >= 0; i = m.matchNext(bit, i + 1)) out.add(i);
    return out;
  }

  function explain(method: string, host: string, path: string, headers: HeaderLookup): Explanation {
    const result = find(method, host, path, headers);
    const bit = methodBit(method);
    const { anyMethod, anyHost } = relaxedMatchers();
    const full = accepted(matcher, bit, host, path);
    const noMethod = accepted(anyMethod, bit, host, path);
    const noHost = accepted(anyHost, bit, host, path);
    let winnerEntry: CompiledEntry | null = null;
    const candidates: ExplainCandidate[] = entries.map((entry, i) => {
      const route = routes[entry.route] as CompiledRoute;
      const base = { route, host: hostLabel(entry) };
      if (!noHost.has(i))
        return { ...base, outcome: 'path', detail: `path ${JSON.stringify(path)} does not match ${route.pattern}` };
      if (!noMethod.has(i))
        return { ...base, outcome: 'host', detail: `host ${JSON.stringify(host)} is not ${hostLabel(entry)}` };
      if (!full.has(i))
        return { ...base, outcome: 'method', detail: `method ${method} is not one of ${route.methods?.join(', ')}` };
      const re = regexes[entry.route];
      if (re && !re.test(path))
        return { ...base, outcome: 'regex', detail: `path ${JSON.stringify(path)} does not match /${route.regex}/` };
      const mismatch = headerMismatch(route, headers);
      if (mismatch) return { ...base, outcome: 'headers', detail: mismatch };
      if (winnerEntry === null && result.kind === 'match' && result.match.route === route) {
        winnerEntry = entry;
        return { ...base, outcome: 'winner', detail: `${route.kind} match` };
      }
      const winner = result.kind === 'match' ? result.match.route : null;
      return {
        ...base,
        outcome: 'precedence',
        detail:
          winner && winnerEntry
            ? `matches, but ranks below "${winner.id}": ${whyBelow(route, entry, winner, winnerEntry)}`
            : 'matches',
      };
    });
    return { result, candidates };
  }

  return { find, explain };
}

/**
 * The route a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) is for, when
 * no route takes OPTIONS on its path and the answer would be 405: the route that would take the
 * method the preflight asks about, if that route has a policy in the `cors` phase, which then
 * answers it. null when the request is not a preflight or that route has no CORS policy. Used by
 * the gateway and by `portico explain`; it runs only on the way to a 405.
 */
export function findPreflightRoute(matcher: RouteMatcher, host: string, path: string, headers: HeaderLookup): FindResult | null {
  const asked = headers.get('access-control-request-method');
  if (asked === null || headers.get('origin') === null) return null;
  const found = matcher.find(asked, host, path, headers);
  return found.kind === 'match' && found.match.route.policies.some((p) => p.phase === 'cors') ? found : null;
}
