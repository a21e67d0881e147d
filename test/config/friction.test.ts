/**
 * Config friction (#11 item 18): suggestions for typos, a default region for a single origin,
 * reference errors beside shape errors, and a warning for paths that end in "/".
 */
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { closestName } from '../../core/config/did-you-mean.ts';
import { ConfigError } from '../../core/errors.ts';

async function issuesOf(config: unknown): Promise<string[]> {
  try {
    await compileConfig(config, 'gw.json');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  throw new Error('expected the config to be rejected');
}

const origins = {
  eu: { url: 'http://127.0.0.1:9001', region: 'eu-west' },
  'us-east': { url: 'http://127.0.0.1:9002', region: 'us-east' },
};

describe('did you mean', () => {
  it('suggests the known field for a misspelt one, at every level', async () => {
    const issues = await issuesOf({
      origin: origins,
      routes: [{ upstrem: 'eu', match: { pth: '/a' }, rewrite: { stripPrefx: '/a' } }],
    });
    expect(issues).toContain(
      ': unknown field "origin"; did you mean "origins"? expected a config object { origins, routes, trustedProxies?, version? }',
    );
    expect(issues.find((i) => i.startsWith('routes[0]: unknown field "upstrem"'))).toContain('did you mean "upstream"?');
    expect(issues.find((i) => i.startsWith('routes[0].match: unknown field "pth"'))).toContain('did you mean "path"?');
    expect(issues.find((i) => i.startsWith('routes[0].rewrite: unknown field "stripPrefx"'))).toContain(
      'did you mean "stripPrefix"?',
    );
  });

  it('suggests nothing when no known name is close', async () => {
    const issues = await issuesOf({ origins, routes: [], zebra: 1 });
    expect(issues).toEqual([': unknown field "zebra"; expected a config object { origins, routes, trustedProxies?, version? }']);
  });

  it('suggests the defined origin for a misspelt origin name', async () => {
    const issues = await issuesOf({ origins, routes: [{ match: { path: '/a' }, upstream: ['eu', 'us-eats'] }] });
    expect(issues).toEqual(['routes[0].upstream[1]: unknown origin "us-eats"; did you mean "us-east"? (defined: eu, us-east)']);
  });

  it('matches names that differ in case first, and refuses far ones', () => {
    expect(closestName('Upstream', ['upstream', 'upstreams'])).toBe('upstream');
    expect(closestName('ab', ['xy', 'abc'])).toBe('abc');
    expect(closestName('totally', ['origins', 'routes'])).toBeUndefined();
  });
});

describe('region', () => {
  it('is optional for a single origin, whose region is then its name', async () => {
    const c = await compileConfig({
      origins: { api: { url: 'http://127.0.0.1:9001' } },
      routes: [{ match: { path: '/a' }, upstream: 'api' }],
    });
    expect(c.origins['api']?.region).toBe('api');
  });

  it('is required as soon as there are two origins', async () => {
    const issues = await issuesOf({
      origins: { eu: { url: 'http://127.0.0.1:9001', region: 'eu-west' }, 'us-east': { url: 'http://127.0.0.1:9002' } },
      routes: [{ match: { path: '/a' }, upstream: 'eu' }],
    });
    expect(issues).toEqual([
      'origins["us-east"]: missing required field "region" (optional only when there is a single origin, whose region is then its name)',
    ]);
  });
});

describe('reference errors beside shape errors', () => {
  it('reports an unknown origin, a reserved path and a bad pattern in a file that also has shape errors', async () => {
    const issues = await issuesOf({
      trustedProxies: ['10.0.0.0/8', 'not-an-ip'],
      origins: { eu: { url: 'ftp://eu.example.com', region: 'eu-west' } },
      routes: [
        // shape error in timeoutMs, reference error in upstream: both reported
        { match: { path: '/a' }, upstream: 'us', timeoutMs: -5 },
        { match: { path: '/health' }, upstream: 'eu' },
        { match: { path: '/x/*/y' }, upstream: 'eu', rewrite: { stripPrefix: 'no-slash' } },
        { match: { path: '/b', methods: ['FETCH'] }, upstream: 'nowhere' },
      ],
    });
    expect(issues).toContain('origins.eu.url: expected an http:// or https:// URL, got "ftp://eu.example.com"');
    expect(issues).toContain('routes[0].timeoutMs: expected timeoutMs as a positive number of milliseconds, got -5');
    expect(issues).toContain('routes[0].upstream: unknown origin "us" (defined: eu)');
    expect(issues).toContain("routes[1].match.path: /health is reserved for the gateway's own endpoint");
    expect(issues).toContain('routes[2].match.path: "*" may only be the last segment, got "/x/*/y"');
    expect(issues).toContain('trustedProxies[1]: expected an IP address or CIDR range, got "not-an-ip"');
    expect(issues.some((i) => i.startsWith('routes[3].match.methods[0]: expected one of GET'))).toBe(true);
    expect(issues).toContain('routes[3].upstream: unknown origin "nowhere" (defined: eu)');
    // A route whose match the schema rejected is not also told it has no match.
    expect(issues.filter((i) => i.startsWith('routes[3]') && i.includes('expected exactly one of'))).toEqual([]);
  });

  it('keeps the index of a bad trusted proxy when an earlier entry is not even a string', async () => {
    const issues = await issuesOf({ trustedProxies: [1, 'not-an-ip'], origins, routes: [] });
    expect(issues).toContain('trustedProxies[1]: expected an IP address or CIDR range, got "not-an-ip"');
    expect(issues.some((i) => i.startsWith('trustedProxies[0]: '))).toBe(true);
  });

  it('does not call an origin unknown when only its shape is wrong', async () => {
    const issues = await issuesOf({
      origins: { eu: { url: 'not a url', region: 'eu-west' } },
      routes: [{ match: { path: '/a' }, upstream: 'eu' }],
    });
    expect(issues).toContain('origins.eu.url: expected an absolute URL such as https://eu.example.com, got "not a url"');
    expect(issues.filter((i) => i.includes('unknown origin'))).toEqual([]);
  });
});

describe('warnings', () => {
  it('warns, without refusing the config, when a path ends with "/"', async () => {
    const c = await compileConfig({
      origins,
      routes: [
        { match: { path: '/api/' }, upstream: 'eu' },
        { match: { path: '/' }, upstream: 'eu' },
        { match: { path: '/b/*' }, upstream: 'eu' },
      ],
    });
    expect(c.warnings).toEqual([
      {
        path: 'routes[0].match.path',
        message:
          '"/api/" matches only that exact path, trailing slash included; for everything under it write "/api/*", for the path without the slash "/api"',
      },
    ]);
  });
});
