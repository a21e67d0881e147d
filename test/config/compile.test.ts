import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';

const origins = {
  eu: { url: 'http://127.0.0.1:9001', region: 'eu-west' },
  us: { url: 'http://127.0.0.1:9002/base/', region: 'us-east', timeoutMs: 1500 },
};

async function issuesOf(config: unknown): Promise<string[]> {
  try {
    await compileConfig(config, 'gw.json');
  } catch (e) {
    if (e instanceof ConfigError) {
      return e.issues.map((i) => `${i.path}: ${i.message}`);
    }
    throw e;
  }
  throw new Error('expected the config to be rejected');
}

describe('compileConfig', () => {
  it('compiles a valid config with a version, a content hash and resolved origins', async () => {
    const c = await compileConfig({ version: 1, origins, routes: [{ match: { path: '/a' }, upstream: 'us' }] });
    expect(c.version).toBe(1);
    expect(c.hash).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(c.origins['us']).toEqual({
      name: 'us',
      origin: 'http://127.0.0.1:9002',
      basePath: '/base',
      region: 'us-east',
      timeoutMs: 1500,
    });
    expect(c.origins['eu']?.timeoutMs).toBe(30000);
    expect(c.routes[0]?.id).toBe('route-0');
    expect(typeof c.table).toBe('string');
  });

  it('gives the same hash whatever the key order, and a different one for a different config', async () => {
    const a = await compileConfig({ origins, routes: [{ match: { path: '/a', methods: ['GET'] }, upstream: 'eu' }] });
    const b = await compileConfig({ routes: [{ upstream: 'eu', match: { methods: ['GET'], path: '/a' } }], origins });
    const c = await compileConfig({ origins, routes: [{ match: { path: '/b', methods: ['GET'] }, upstream: 'eu' }] });
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
  });

  it('reports every error with its exact path, what was expected and what was found', async () => {
    const issues = await issuesOf({
      origins: { eu: { url: 'ftp://x', region: '', timeoutMs: -5 } },
      routes: [
        { match: { path: 'users', methods: ['GETT'] }, upstream: 'eu', extra: true },
        { match: { path: '/ok' }, upstream: 'nowhere' },
        { match: { path: '/x' }, upstream: 'eu', timeoutMs: 'fast' },
      ],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'origins.eu.url: expected an http:// or https:// URL, got "ftp://x"',
        'origins.eu.region: expected a non-empty region name, got ""',
        'origins.eu.timeoutMs: expected timeoutMs as a positive number of milliseconds, got -5',
        'routes[0].match.path: expected a path pattern starting with "/", got "users"',
        expect.stringMatching(/^routes\[0\]\.match\.methods\[0\]: expected one of GET, HEAD, .*got "GETT"$/),
        expect.stringMatching(/^routes\[0\]: unknown field "extra"/),
        expect.stringMatching(/^routes\[2\]\.timeoutMs: expected timeoutMs as a positive number of milliseconds, got "fast"$/),
      ]),
    );
    expect(issues.length).toBeGreaterThanOrEqual(7);
  });

  it('names missing fields, rejects arrays, and hides credentials in what it quotes', async () => {
    expect(await issuesOf({})).toEqual([': missing required field "origins"', ': missing required field "routes"']);
    expect(await issuesOf([])).toEqual([': expected a config object { origins, routes, ... }, got an array']);
    const issues = await issuesOf({ origins: { a: { url: 'https://user:s3cret@x.example', region: 'r' } }, routes: [] });
    expect(issues).toEqual([
      'origins.a.url: expected a URL without credentials (put secrets in headers), got "https://***@x.example"',
    ]);
    expect(issues.join()).not.toContain('s3cret');
  });

  it('reports reference errors of well-formed routes in the same run as shape errors', async () => {
    const issues = await issuesOf({
      origins: { eu: { url: 'http://x', region: '' } },
      routes: [
        { match: { path: '/a' }, upstream: 'moon' },
        { match: { path: 5 }, upstream: 'eu' },
      ],
    });
    expect(issues).toEqual([
      'origins.eu.region: expected a non-empty region name, got ""',
      'routes[1].match.path: expected a path pattern (string), got 5',
      'routes[0].upstream: unknown origin "moon" (defined: eu)',
    ]);
  });

  it('reports cross-reference errors together (unknown origins, duplicate ids, reserved paths, bad regex)', async () => {
    const issues = await issuesOf({
      origins,
      trustedProxies: ['10.0.0.0/8', '10.0.0.0/99'],
      routes: [
        { id: 'a', match: { path: '/x' }, upstream: ['eu', 'moon'] },
        { id: 'a', match: { path: '/health' }, upstream: 'eu' },
        { match: { regex: '([a-z' }, upstream: 'eu' },
        { match: { path: '/y', regex: '^/y$' }, upstream: 'eu' },
        { upstream: 'eu' },
        { match: { path: '/a/*/b' }, upstream: 'eu' },
        { match: { path: '/a//b' }, upstream: 'eu' },
        { match: { path: '/x' }, upstream: 'us' },
      ],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'trustedProxies[1]: expected an IP address or CIDR range, got "10.0.0.0/99"',
        'routes[0].upstream[1]: unknown origin "moon" (defined: eu, us)',
        'routes[1].id: duplicate route id "a" (also routes[0])',
        "routes[1].match.path: /health is reserved for the gateway's own endpoint",
        expect.stringMatching(/^routes\[2\]\.match\.regex: expected a valid regular expression/),
        'routes[3].match: expected only one of match.path, match.regex and fallback: true',
        'routes[4]: expected exactly one of match.path, match.regex or fallback: true',
        expect.stringMatching(/^routes\[5\]\.match\.path: "\*" may only be the last segment/),
        expect.stringMatching(/^routes\[6\]\.match\.path: expected a path in normalized form .* write "\/a\/b"$/),
        'routes[7]: can never match: routes[0] has the same path, methods, hosts and header conditions',
      ]),
    );
  });

  it('checks the rewrite and header transforms of a route whose path is invalid, in the same run', async () => {
    const issues = await issuesOf({
      origins,
      routes: [
        {
          match: { path: '/a/*/b' },
          upstream: 'eu',
          rewrite: { stripPrefix: '/a/' },
          requestHeaders: { set: { Host: 'x' } },
        },
      ],
    });
    expect(issues).toEqual([
      'routes[0].rewrite.stripPrefix: expected a normalized path prefix without a trailing slash, got "/a/"',
      'routes[0].requestHeaders.set: header "Host" is managed by the gateway and cannot be set',
      expect.stringMatching(/^routes\[0\]\.match\.path: "\*" may only be the last segment/),
    ]);
  });

  it('rejects header values with CR/LF, showing them escaped', async () => {
    const issues = await issuesOf({
      origins,
      routes: [{ match: { path: '/a' }, upstream: 'eu', requestHeaders: { set: { 'x-ok': 'line\r\nInjected: 1' } } }],
    });
    expect(issues).toEqual([
      'routes[0].requestHeaders.set["x-ok"]: expected a header value of visible ASCII with no CR or LF, got "line\\r\\nInjected: 1"',
    ]);
  });

  it('refuses to let a route set headers the gateway manages', async () => {
    const issues = await issuesOf({
      origins,
      routes: [
        { match: { path: '/a' }, upstream: 'eu', responseHeaders: { set: { 'Transfer-Encoding': 'chunked', host: 'x' } } },
      ],
    });
    expect(issues).toEqual([
      'routes[0].responseHeaders.set: header "Transfer-Encoding" is managed by the gateway and cannot be set',
      'routes[0].responseHeaders.set: header "host" is managed by the gateway and cannot be set',
    ]);
  });

  it('orders entries: host specificity, then exact, params, prefix (longest first), regex, fallback', async () => {
    const c = await compileConfig({
      origins,
      routes: [
        { id: 'fallback', fallback: true, upstream: 'eu' },
        { id: 'regex', match: { regex: '^/api/.*$' }, upstream: 'eu' },
        { id: 'short-prefix', match: { path: '/api/*' }, upstream: 'eu' },
        { id: 'long-prefix', match: { path: '/api/users/*' }, upstream: 'eu' },
        { id: 'param-first', match: { path: '/api/:x/list' }, upstream: 'eu' },
        { id: 'static-first', match: { path: '/api/users/:id' }, upstream: 'eu' },
        { id: 'exact', match: { path: '/api/users/me' }, upstream: 'eu' },
        { id: 'canary', match: { path: '/api/users/me', headers: { 'x-canary': '1' } }, upstream: 'eu' },
        { id: 'wild-host', match: { path: '/*', hosts: ['*.example.com'] }, upstream: 'eu' },
        { id: 'exact-host', match: { path: '/*', hosts: ['api.example.com'] }, upstream: 'eu' },
      ],
    });
    const order = c.entries.map((e) => c.routes[e.route]?.id);
    expect(order).toEqual([
      'exact-host',
      'wild-host',
      'canary',
      'exact',
      'static-first',
      'param-first',
      'long-prefix',
      'short-prefix',
      'regex',
      'fallback',
    ]);
  });
});
