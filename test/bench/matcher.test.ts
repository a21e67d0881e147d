/**
 * The matcher benchmark's correctness gate, without timings: every contestant (portico's Wasm,
 * wasm2js and TypeScript twin, and the JS peers) must give the oracle's answer (route, param
 * values, rest) for every benchmark case and for one hit and one method miss per route, on all
 * three tables. Performance itself does not belong in tests: see bench/matcher.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { describeFailures } from '../../bench/_check.ts';
import { checkMatcherContestants, type MatcherCheckReport } from '../../bench/matcher.ts';

let report: MatcherCheckReport;

beforeAll(async () => {
  report = await checkMatcherContestants();
}, 120_000);

describe('matcher benchmark contestants', () => {
  it('loads the portico matchers (the js-string build where the engine has the builtins) next to the nine JS peers', () => {
    // The in-place build is missing only where the engine lacks the builtins (Node 20).
    const inPlace = report.unavailable.filter((u) => u.id === 'wasm-js-string');
    for (const u of inPlace) expect(u.reason).toMatch(/no JS String Builtins/);
    expect(report.unavailable.filter((u) => u.id !== 'wasm-js-string').map((u) => `${u.label}: ${u.reason}`)).toEqual([]);
    const routers = report.contestants.filter((c) => c.family !== 'floor' && c.id !== 'wasm-js-string');
    expect(inPlace.length + report.contestants.filter((c) => c.id === 'wasm-js-string').length).toBe(1);
    expect(routers.map((c) => c.id).sort()).toEqual([
      'find-my-way',
      'hono-regexp',
      'hono-smart',
      'hono-trie',
      'koa-tree-router',
      'medley',
      'memoirist',
      'rou3',
      'rou3-compiled',
      'twin',
      'wasm',
      'wasm2js',
    ]);
    // not routers: the harness alone, and the portico Wasm wrapper with the lookup taken out
    expect(report.contestants.filter((c) => c.family === 'floor').map((c) => c.id)).toEqual(['copy-floor', 'floor']);
  });

  it('checks every contestant on all three tables, 10,000 generated routes included', () => {
    const tables = new Set(report.checks.map((c) => c.table));
    expect([...tables].sort()).toEqual(['github', 'hono', 'multitenant']);
    const multitenant = report.checks.find((c) => c.table === 'multitenant');
    // five cases, then a hit and a method miss per route
    expect(multitenant?.checked).toBe(5 + 2 * 10_000);
    // the two floors (no router) are the contestants that are not checked
    expect(report.checks).toHaveLength((report.contestants.length - 2) * 3);
  });

  it('every contestant answers every case of every table like the oracle', () => {
    const wrong = report.checks.flatMap((c) => describeFailures(c, 3));
    expect(wrong).toEqual([]);
  });
});
