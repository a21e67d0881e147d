/** The resilience parts of the config: defaults resolved at compile time, errors with their path. */
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { DEFAULT_BREAKER } from '../../core/upstream/breaker.ts';

const origins = {
  eu: { url: 'http://127.0.0.1:9001', region: 'eu-west' },
  us: { url: 'http://127.0.0.1:9002', region: 'us-east' },
};

async function issuesOf(config: unknown): Promise<string[]> {
  try {
    await compileConfig(config);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('resilience config', () => {
  it('turns breakers on by default for routes with more than one origin, with the stated defaults', async () => {
    const c = await compileConfig({
      origins,
      routes: [
        { id: 'two', match: { path: '/a' }, upstream: ['eu', 'us'] },
        { id: 'one', match: { path: '/b' }, upstream: 'eu' },
        { id: 'off', match: { path: '/c' }, upstream: ['eu', 'us'], breaker: false, retry: false },
      ],
    });
    expect(c.routes.map((r) => r.breakers)).toEqual([true, false, false]);
    // Absent means the defaults (the compiled form stays small).
    expect(c.origins['eu']?.breaker).toBeUndefined();
    expect(DEFAULT_BREAKER).toMatchObject({ failures: 5, failureRatio: 0.5, openMs: 5000, halfOpenProbes: 1 });
    expect(c.routes[0]?.retry).toMatchObject({ attempts: 3, connect: true, timeout: false, statuses: [502, 503, 504] });
    expect(c.routes[2]?.retry).toBeNull();
  });

  it('gives a route naming a pool in upstream the pool origins and checks the region map against their regions', async () => {
    const c = await compileConfig({
      origins,
      pools: { world: { origins: ['eu', 'us'], countries: { sg: 'us-east' }, continents: { EU: 'eu-west' } } },
      routes: [{ id: 'p', match: { path: '/p' }, upstream: 'world' }],
    });
    expect(c.routes[0]?.upstream).toEqual(['eu', 'us']);
    expect(c.pools?.['world']).toMatchObject({ countries: { SG: 'us-east' }, defaultRegion: 'eu-west' });
    expect(
      await issuesOf({
        origins,
        pools: { world: { origins: ['eu', 'mars'], continents: { EU: 'ap-south', XX: 'eu-west' } } },
        routes: [{ match: { path: '/p' }, upstream: 'wrold' }],
      }),
    ).toEqual(
      expect.arrayContaining([
        'pools.world.origins[1]: unknown origin "mars" (defined: eu, us)',
        'pools.world.continents.EU: unknown region "ap-south" (the pool\'s origins are in: eu-west)',
        expect.stringContaining('pools.world.continents.XX: expected a continent code'),
        expect.stringContaining('routes[0].upstream: unknown origin "wrold"'),
      ]),
    );
  });

  it('names the path of a bad retry, shed or breaker value', async () => {
    const issues = await issuesOf({
      origins: { ...origins, us: { ...origins.us, breaker: { failureRatio: 2 } } },
      routes: [{ match: { path: '/a' }, upstream: 'eu', retry: { attempts: 0, on: ['sometimes'] }, shed: { queue: 1 } }],
    });
    expect(issues.some((i) => i.startsWith('origins.us.breaker.failureRatio'))).toBe(true);
    expect(issues.some((i) => i.startsWith('routes[0].retry.attempts'))).toBe(true);
    expect(issues.some((i) => i.startsWith('routes[0].retry.on[0]'))).toBe(true);
    expect(issues).toContain('routes[0].shed: missing required field "maxConcurrent"');
  });
});
