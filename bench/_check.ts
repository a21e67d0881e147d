/**
 * The correctness gate: before anything is timed, every contestant answers the benchmark's
 * cases and one request per route (plus a method miss per route), and each answer is compared
 * with the oracle of `_tables.ts`: route identity, every param value, and the rest where the
 * router reports it. Requests go in as the timed loops give them: the path sliced from a URL
 * string, the host (for routers that take it) a flat string of its own.
 */
import { compileLookup, type BuiltRouter, type Contestant } from './_contestants.ts';
import type { Expectation, MatchOutcome, RequestCase, RouteTable } from './_tables.ts';
import { asHeaderString } from './_timing.ts';

export interface CheckFailure {
  request: string;
  expected: MatchOutcome;
  got: MatchOutcome | string;
}

export interface CheckResult {
  contestant: string;
  table: string;
  /** Requests checked. */
  checked: number;
  failures: CheckFailure[];
}

/** The host and path a contestant's lookup gets for a request, as in the `sliced` timing mode. */
export function findArguments(contestant: Contestant, table: RouteTable, c: RequestCase, n = 0): [string, string] {
  const url = `http://${c.host}${c.path}?x=${n}`;
  const q = url.indexOf('?', 8);
  if (table.hosts && !contestant.hostRouting) return ['', url.slice(6, q)];
  const s = url.indexOf('/', 8);
  if (!contestant.hostRouting) return ['', url.slice(s, q)];
  return [asHeaderString(url.slice(7, s)), url.slice(s, q)];
}

function same(a: MatchOutcome, b: MatchOutcome, compareRest: boolean): boolean {
  return (
    a.route === b.route &&
    a.params.length === b.params.length &&
    a.params.every((p, i) => p === b.params[i]) &&
    (!compareRest || a.rest === b.rest) &&
    a.matches === b.matches
  );
}

/** Checks one built router against the expectations of its table (see `expectations`). */
export function checkContestant(
  contestant: Contestant,
  built: BuiltRouter,
  table: RouteTable,
  expectations: Expectation[],
): CheckResult {
  const failures: CheckFailure[] = [];
  const lookup = compileLookup(built.call);
  for (const { request: c, expected } of expectations) {
    const [host, path] = findArguments(contestant, table, c);
    let got: MatchOutcome | string;
    try {
      got = built.decode(lookup(c.method, host, path), path);
    } catch (error) {
      got = `threw ${(error as Error).message}`;
    }
    if (typeof got === 'string' || !same(expected, got, contestant.capturesRest)) {
      failures.push({ request: `${c.method} ${c.host}${c.path}`, expected, got });
    }
  }
  return { contestant: contestant.id, table: table.id, checked: expectations.length, failures };
}

/** One line per failure, at most `limit` of them. */
export function describeFailures(result: CheckResult, limit = 5): string[] {
  return result.failures.slice(0, limit).map((f) => {
    const got = typeof f.got === 'string' ? f.got : JSON.stringify(f.got);
    return `${result.contestant} on ${result.table}: ${f.request}: expected ${JSON.stringify(f.expected)}, got ${got}`;
  });
}
