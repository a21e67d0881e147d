/**
 * Regex routes run on RE2 (#11 item 12): linear-time matching whatever the pattern, so one
 * request cannot stall the gateway. RE2's limits (no lookaround, no backreferences) are config
 * errors at validate time.
 */
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { createTwinHot } from '../../core/hot/index.ts';
import { createRouteMatcher } from '../../core/router/index.ts';

const origins = { api: { url: 'http://127.0.0.1:9001' } };

async function issuesOf(regex: string): Promise<string[]> {
  try {
    await compileConfig({ origins, routes: [{ match: { regex }, upstream: 'api' }] });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('regex routes', () => {
  it('accepts ^/r/(a+)+$ and answers /r/ + 30 a + ! with no match, and /r/aaa with a match', async () => {
    const compiled = await compileConfig({
      origins,
      routes: [
        { id: 'nested', match: { regex: '^/r/(a+)+$' }, upstream: 'api' },
        { id: 'health-like', match: { path: '/ok' }, upstream: 'api' },
      ],
    });
    const matcher = createRouteMatcher(compiled, createTwinHot());
    const none = new Headers();
    // On a backtracking engine this one call takes seconds (2^30 paths); RE2 needs one pass.
    expect(matcher.find('GET', 'h', `/r/${'a'.repeat(30)}!`, none)).toEqual({ kind: 'none' });
    // Far longer inputs too: the cost grows with the path, not exponentially.
    expect(matcher.find('GET', 'h', `/r/${'a'.repeat(20_000)}!`, none)).toEqual({ kind: 'none' });
    const hit = matcher.find('GET', 'h', '/r/aaa', none);
    expect(hit.kind === 'match' && hit.match.route.id).toBe('nested');
    const ok = matcher.find('GET', 'h', '/ok', none);
    expect(ok.kind === 'match' && ok.match.route.id).toBe('health-like');
  });

  it('runs on RE2: a backreference, which only a backtracking engine can run, is refused at validate', async () => {
    // JavaScript's RegExp accepts this pattern; RE2 has no backreferences. Refusing it proves the
    // pattern is compiled for RE2, not for the runtime's backtracking engine.
    const backreference = '^/(a+)\\1$';
    expect(new RegExp(backreference).test('/aa')).toBe(true);
    expect(await issuesOf(backreference)).toEqual([
      'routes[0].match.regex: expected a regex without backreferences (\\1, \\k<name>): regex routes run on RE2, a linear-time engine, which has none (a backreference can take exponential time)',
    ]);
    expect(await issuesOf('^/(?<x>a)\\k<x>$')).toHaveLength(1);
  });

  it('refuses lookahead and lookbehind, naming the construct', async () => {
    for (const regex of ['^/(?=admin)', '^/(?!admin)', '(?<=/v1)/x', '(?<!/v1)/x']) {
      const issues = await issuesOf(regex);
      expect(issues).toHaveLength(1);
      expect(issues[0]).toContain('expected a regex without lookahead or lookbehind');
    }
  });

  it('keeps named groups as params and reports a syntax error with RE2 named', async () => {
    const compiled = await compileConfig({
      origins,
      routes: [{ id: 'r', match: { regex: '^/reports/(?<year>\\d{4})-(?<month>\\d{2})\\.csv$' }, upstream: 'api' }],
    });
    expect(compiled.routes[0]?.paramNames).toEqual(['year', 'month']);
    const hit = createRouteMatcher(compiled, createTwinHot()).find('GET', 'h', '/reports/2026-11.csv', new Headers());
    expect(hit.kind === 'match' && hit.match.params).toEqual({ year: '2026', month: '11' });
    expect(await issuesOf('([a-z')).toEqual([
      'routes[0].match.regex: expected a valid regular expression (regex routes run on RE2, a linear-time engine): missing closing ]: `[a-z`',
    ]);
  });
});
