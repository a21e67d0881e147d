/**
 * The securityHeaders policy end to end: the Node server, a real loopback origin that sets the
 * headers a request asks it to, requests over real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { closedPort, rawRequest } from '../e2e/_harness.ts';
import { startRecordingOrigin, type RecordingOrigin } from './_origin.ts';

let origin: RecordingOrigin;
let gw: NodeServer;

const SECURITY = [
  'strict-transport-security',
  'x-content-type-options',
  'referrer-policy',
  'x-frame-options',
  'content-security-policy',
];

beforeAll(async () => {
  origin = await startRecordingOrigin();
  const config: PorticoConfig = {
    origins: {
      app: { url: origin.url, region: 'local' },
      dead: { url: `http://127.0.0.1:${await closedPort()}`, region: 'nowhere', timeoutMs: 1000 },
    },
    routes: [
      { id: 'baseline', match: { path: '/baseline' }, upstream: 'app', securityHeaders: {} },
      {
        id: 'full',
        match: { path: '/full' },
        upstream: 'app',
        securityHeaders: {
          hsts: { maxAge: 63072000, includeSubDomains: true, preload: true },
          referrerPolicy: 'no-referrer',
          frameOptions: 'SAMEORIGIN',
          frameAncestors: ['self', 'https://app.example.com'],
          contentSecurityPolicy: "default-src 'self'",
        },
      },
      {
        id: 'override',
        match: { path: '/override' },
        upstream: 'app',
        securityHeaders: { contentSecurityPolicy: "default-src 'none'", override: true },
      },
      { id: 'none', match: { path: '/none' }, upstream: 'app' },
      { id: 'dead', match: { path: '/dead' }, upstream: 'dead', securityHeaders: {} },
    ],
  };
  gw = await startNodeServer(await compileConfig(config), { port: 0, hot: await loadNodeHot('wasm'), log: () => {} });
});

afterAll(async () => {
  await gw?.drain();
  await origin?.close();
});

/** `path` with the response headers the origin is asked to set, encoded into its query. */
function asking(path: string, ...pairs: string[]): string {
  return `${path}?${pairs.map((p) => `h=${encodeURIComponent(p)}`).join('&')}`;
}

function present(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(SECURITY.filter((n) => headers[n] !== undefined).map((n) => [n, headers[n]]));
}

describe('securityHeaders', () => {
  it('with {} sets nosniff, Referrer-Policy and X-Frame-Options DENY, and no HSTS or CSP', async () => {
    const res = await rawRequest(gw.url, '/baseline');
    expect(res.status).toBe(200);
    expect(present(res.headers)).toEqual({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'strict-origin-when-cross-origin',
      'x-frame-options': 'DENY',
    });
  });

  it('sets HSTS with includeSubDomains and preload, and a CSP with frame-ancestors added', async () => {
    const res = await rawRequest(gw.url, '/full');
    expect(present(res.headers)).toEqual({
      'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'SAMEORIGIN',
      'content-security-policy': "default-src 'self'; frame-ancestors 'self' https://app.example.com",
    });
  });

  it("keeps the origin's own value of a header by default, and fills in the others", async () => {
    const res = await rawRequest(
      gw.url,
      asking('/full', 'x-frame-options:DENY', "content-security-policy:script-src 'nonce-abc'"),
    );
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toBe("script-src 'nonce-abc'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it("passes the origin's CSP through when none is configured", async () => {
    const res = await rawRequest(gw.url, asking('/baseline', "content-security-policy:default-src 'self'"));
    expect(res.headers['content-security-policy']).toBe("default-src 'self'");
  });

  it("replaces the origin's values with override: true", async () => {
    const res = await rawRequest(
      gw.url,
      asking('/override', 'content-security-policy:default-src *', 'x-frame-options:SAMEORIGIN'),
    );
    expect(res.headers['content-security-policy']).toBe("default-src 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('adds nothing on a route without the policy', async () => {
    const res = await rawRequest(gw.url, '/none');
    expect(res.status).toBe(200);
    expect(present(res.headers)).toEqual({});
  });

  it("sets them on the upstream step's problem responses too", async () => {
    const res = await rawRequest(gw.url, '/dead');
    expect(res.status).toBe(502);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses preload without includeSubDomains or a year of max-age, and frame-ancestors given twice, naming the paths', async () => {
    const attempt = compileConfig({
      origins: { o: { url: 'http://127.0.0.1:9', region: 'x' } },
      routes: [
        { match: { path: '/a' }, upstream: 'o', securityHeaders: { hsts: { maxAge: 600, preload: true } } },
        {
          match: { path: '/b' },
          upstream: 'o',
          securityHeaders: { contentSecurityPolicy: "frame-ancestors 'none'", frameAncestors: ['self'] },
        },
        { match: { path: '/c' }, upstream: 'o', securityHeaders: { frameAncestors: ["'none'", 'https://x.test'] } },
        { match: { path: '/d' }, upstream: 'o', securityHeaders: { referrerPolicy: 'sometimes' } as never },
      ],
    });
    const err = await attempt.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'routes[0].securityHeaders.hsts.preload',
        'routes[1].securityHeaders.frameAncestors',
        'routes[2].securityHeaders.frameAncestors',
        'routes[3].securityHeaders.referrerPolicy',
      ]),
    );
  });
});
