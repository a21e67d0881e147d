/**
 * Route tables and request cases of the matcher benchmark, plus the reference oracle that says
 * what every contestant must answer. The tables are data (bench/data/*.json); the 10,000-route
 * multi-tenant table is generated from a seed by `_multitenant.ts`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateMultiTenantTable } from './_multitenant.ts';

/** The request kinds measured per table; `mixed` cycles through the others that apply. */
export const CASE_IDS = ['static', 'param1', 'param3', 'wildcard', 'notFound', 'mixed'] as const;
export type CaseId = (typeof CASE_IDS)[number];

/** One route of a table, in the table's precedence order. */
export interface RouteSpec {
  method: string;
  /** `/users/:user/repos`; a last segment `*` takes the rest of the path. */
  path: string;
  /** Exact request host the route belongs to (multi-tenant table only). */
  host?: string;
}

/** One measured request. `host` is what the Host header would carry. */
export interface RequestCase {
  id: CaseId;
  method: string;
  host: string;
  path: string;
}

/** A cell that the table cannot fill, with the reason shown in the output. */
export interface SkippedCase {
  id: CaseId;
  skip: string;
}

export interface RouteTable {
  id: string;
  title: string;
  /** Where the routes come from. */
  source: string;
  /** Whether routes carry a host (the JS peers then get it as a leading path segment). */
  hosts: boolean;
  routes: RouteSpec[];
  /** Cases in CASE_IDS order, `mixed` included. */
  cases: (RequestCase | SkippedCase)[];
}

/** A parsed route pattern. */
export interface ParsedPattern {
  /** Literal segment text, or null for a `:param` segment. */
  segments: (string | null)[];
  /** Param names in path order (the rest, when present, is not among them). */
  paramNames: string[];
  rest: boolean;
}

/** What a router answered for one request: the route index, its params and the rest. */
export interface MatchOutcome {
  /** Index of the matched route in the table, -1 for no match. */
  route: number;
  /** Param values in the order of the pattern's `:params`. */
  params: string[];
  /** The text a trailing `*` took (no leading `/`); null when the route has none;
   *  undefined when the router does not report it (Hono's unnamed `*`). */
  rest: string | null | undefined;
  /** How many routes the router reported for the request (Hono answers every match). */
  matches: number;
}

/** Host used in request URLs of tables without host routing. */
export const DEFAULT_HOST = 'localhost';

export function isSkipped(c: RequestCase | SkippedCase): c is SkippedCase {
  return 'skip' in c;
}

export function parsePattern(path: string): ParsedPattern {
  if (!path.startsWith('/')) throw new Error(`route pattern must start with "/": ${path}`);
  const parts = path.slice(1).split('/');
  const segments: (string | null)[] = [];
  const paramNames: string[] = [];
  let rest = false;
  parts.forEach((part, i) => {
    if (part === '*' && i === parts.length - 1) {
      rest = true;
    } else if (part.startsWith(':')) {
      segments.push(null);
      paramNames.push(part.slice(1));
    } else if (part.includes('*') || part.includes(':')) {
      throw new Error(`unsupported pattern segment "${part}" in ${path}`);
    } else {
      segments.push(part);
    }
  });
  return { segments, paramNames, rest };
}

/** The plain reading of the patterns of a table, with routes grouped by host for speed. */
export interface Oracle {
  table: RouteTable;
  parsed: ParsedPattern[];
  /** Route indices per host ('' holds all routes of a table without hosts). */
  byHost: Map<string, number[]>;
}

export function createOracle(table: RouteTable): Oracle {
  const parsed = table.routes.map((r) => parsePattern(r.path));
  const byHost = new Map<string, number[]>();
  table.routes.forEach((route, index) => {
    const key = table.hosts ? (route.host ?? '') : '';
    let list = byHost.get(key);
    if (!list) {
      list = [];
      byHost.set(key, list);
    }
    list.push(index);
  });
  return { table, parsed, byHost };
}

/**
 * The oracle: every route (by index) that matches the request, by the plain reading of the
 * patterns: a literal equals its segment, a `:param` takes one non-empty segment, a trailing
 * `*` takes whatever follows (also nothing). It knows no precedence, so a case that more than
 * one route matches is reported as ambiguous rather than decided.
 */
export function referenceMatches(oracle: Oracle, method: string, host: string, path: string): MatchOutcome[] {
  const parts = path.slice(1).split('/');
  const found: MatchOutcome[] = [];
  for (const index of oracle.byHost.get(oracle.table.hosts ? host : '') ?? []) {
    const route = oracle.table.routes[index]!;
    if (route.method !== method) continue;
    const pattern = oracle.parsed[index]!;
    const n = pattern.segments.length;
    if (pattern.rest ? parts.length < n : parts.length !== n) continue;
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const literal = pattern.segments[i];
      const part = parts[i]!;
      if (literal === null) {
        if (part === '') ok = false;
        else params.push(part);
      } else if (literal !== part) {
        ok = false;
      }
    }
    if (!ok) continue;
    const rest = pattern.rest ? parts.slice(n).join('/') : null;
    found.push({ route: index, params, rest, matches: 1 });
  }
  return found;
}

/** The one expected outcome of a request, or an error when the table is ambiguous for it. */
export function expectedOutcome(oracle: Oracle, method: string, host: string, path: string): MatchOutcome {
  const found = referenceMatches(oracle, method, host, path);
  if (found.length > 1) {
    throw new Error(
      `${oracle.table.id}: ${method} ${host}${path} matches ${found.length} routes (${found.map((f) => f.route).join(', ')}); ` +
        'precedence differs between routers, so the case cannot be compared',
    );
  }
  return found[0] ?? { route: -1, params: [], rest: null, matches: 0 };
}

/** A request and the answer the oracle expects for it. */
export interface Expectation {
  request: RequestCase;
  expected: MatchOutcome;
}

/** The table's cases and coverage requests with their expected answers (computed once per table). */
export function expectations(oracle: Oracle): Expectation[] {
  const requests = [
    ...oracle.table.cases.filter((c): c is RequestCase => !isSkipped(c) && c.id !== 'mixed'),
    ...coverageRequests(oracle.table, oracle.parsed),
  ];
  return requests.map((request) => ({
    request,
    expected: expectedOutcome(oracle, request.method, request.host, request.path),
  }));
}

/**
 * Requests that exercise every route once: params filled with `v0`, `v1`..., the rest with
 * `a/b.txt`, plus the same path with PATCH (which no table routes, so a method miss).
 */
export function coverageRequests(table: RouteTable, parsed: ParsedPattern[]): RequestCase[] {
  const out: RequestCase[] = [];
  table.routes.forEach((route, index) => {
    const pattern = parsed[index]!;
    let k = 0;
    const segments = pattern.segments.map((s) => (s === null ? `v${k++}` : s));
    if (pattern.rest) segments.push('a', 'b.txt');
    const path = '/' + segments.join('/');
    const host = route.host ?? DEFAULT_HOST;
    out.push({ id: 'static', method: route.method, host, path });
    out.push({ id: 'notFound', method: 'PATCH', host, path });
  });
  return out;
}

interface TableFile {
  id: string;
  title: string;
  source: string;
  hosts: boolean;
  routes: RouteSpec[];
  cases: ({ id: CaseId; method: string; path: string; host?: string } | SkippedCase)[];
}

function readTableFile(name: string): RouteTable {
  const url = new URL(`./data/${name}`, import.meta.url);
  const file = JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as TableFile;
  return finishTable({
    ...file,
    cases: file.cases.map((c) => ('skip' in c ? c : { ...c, host: c.host ?? DEFAULT_HOST })),
  });
}

/** Appends the `mixed` case and checks that the cases come in CASE_IDS order. */
export function finishTable(table: RouteTable): RouteTable {
  const cases = table.cases.filter((c) => c.id !== 'mixed');
  const order = CASE_IDS.filter((id) => id !== 'mixed');
  if (cases.map((c) => c.id).join() !== order.join()) {
    throw new Error(`${table.id}: cases must be ${order.join(', ')}, got ${cases.map((c) => c.id).join(', ')}`);
  }
  // `mixed` cycles through the cases that apply (see mixedCases); its own fields are unused.
  const live = cases.filter((c) => !isSkipped(c));
  cases.push(live.length > 0 ? { id: 'mixed', method: '*', host: '*', path: '*' } : { id: 'mixed', skip: 'no case applies' });
  return { ...table, cases };
}

/** The requests that the `mixed` case cycles through, in order. */
export function mixedCases(table: RouteTable): RequestCase[] {
  return table.cases.filter((c): c is RequestCase => !isSkipped(c) && c.id !== 'mixed');
}

/** Loads the three tables. `multiTenantRoutes` shrinks the generated table (tests). */
export function loadTables(options: { multiTenantRoutes?: number } = {}): RouteTable[] {
  return [
    readTableFile('hono-routers.json'),
    readTableFile('github-api.json'),
    finishTable(generateMultiTenantTable({ routes: options.multiTenantRoutes ?? 10_000 })),
  ];
}
