/**
 * The cors policy end to end: the Node server with the real Wasm hot path and undici forwarder,
 * a real loopback origin that records what reaches it, requests over real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { unsafeRegexReason } from '../../core/policies/cors/_origin-match.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { closedPort, rawRequest, type RawResponse } from '../e2e/_harness.ts';
import { startRecordingOrigin, type RecordingOrigin } from './_origin.ts';

let origin: RecordingOrigin;
let gw: NodeServer;

const APP = 'https://app.example.com';

function config(originUrl: string, deadPort: number): PorticoConfig {
  return {
    origins: {
      app: { url: originUrl, region: 'local', timeoutMs: 3000 },
      dead: { url: `http://127.0.0.1:${deadPort}`, region: 'nowhere', timeoutMs: 1000 },
    },
    defaults: { cors: { origins: ['https://default.example.com'] } },
    routes: [
      {
        id: 'exact',
        match: { path: '/exact/*', methods: ['GET', 'PUT'] },
        upstream: 'app',
        cors: {
          origins: [APP, 'http://localhost:5173'],
          methods: ['GET', 'PUT'],
          allowHeaders: ['Content-Type', 'Authorization'],
          exposeHeaders: ['X-Request-Id', 'X-Total'],
          credentials: true,
          maxAge: 600,
        },
      },
      { id: 'wild', match: { path: '/wild' }, upstream: 'app', cors: { origins: ['https://*.example.com'] } },
      {
        id: 'regex',
        match: { path: '/regex', methods: ['GET'] },
        upstream: 'app',
        cors: { origins: [{ regex: 'https://pr-[0-9]+\\.preview\\.example\\.net' }] },
      },
      { id: 'any', match: { path: '/any', methods: ['GET', 'POST'] }, upstream: 'app', cors: { origins: '*', maxAge: 60 } },
      { id: 'defaulted', match: { path: '/defaulted', methods: ['GET'] }, upstream: 'app' },
      { id: 'off', match: { path: '/off' }, upstream: 'app', cors: false },
      { id: 'plain', match: { path: '/plain', methods: ['GET'] }, upstream: 'app', cors: false },
      { id: 'dead', match: { path: '/dead', methods: ['GET'] }, upstream: 'dead' },
    ],
  };
}

beforeAll(async () => {
  origin = await startRecordingOrigin();
  const compiled = await compileConfig(config(origin.url, await closedPort()));
  gw = await startNodeServer(compiled, { port: 0, hot: await loadNodeHot('wasm'), log: () => {} });
});

afterAll(async () => {
  await gw?.drain();
  await origin?.close();
});

function send(path: string, headers: Record<string, string>, method = 'GET'): Promise<RawResponse> {
  return rawRequest(gw.url, path, { method, headers });
}

function preflight(path: string, from: string, method = 'PUT', extra: Record<string, string> = {}): Promise<RawResponse> {
  return send(path, { origin: from, 'access-control-request-method': method, ...extra }, 'OPTIONS');
}

/** The Access-Control-* headers of a response. */
function corsHeaders(res: RawResponse): Record<string, unknown> {
  return Object.fromEntries(Object.entries(res.headers).filter(([k]) => k.startsWith('access-control-')));
}

function varyTokens(res: RawResponse): string[] {
  return String(res.headers['vary'] ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
}

/** Runs `fn` and returns how many requests reached the origin meanwhile. */
async function reachedOrigin(fn: () => Promise<unknown>): Promise<number> {
  const before = origin.seen.length;
  await fn();
  return origin.seen.length - before;
}

describe('cors: preflight', () => {
  it('answers 204 at the edge with the configured policy and never forwards it, on a route whose methods do not list OPTIONS', async () => {
    let res!: RawResponse;
    const forwarded = await reachedOrigin(async () => {
      res = await preflight('/exact/1', APP, 'PUT', { 'access-control-request-headers': 'content-type' });
    });
    expect(forwarded).toBe(0);
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toBe('GET, PUT');
    expect(res.headers['access-control-allow-headers']).toBe('content-type, authorization');
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(varyTokens(res)).toContain('origin');
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('refuses a disallowed origin with 403 ERR_CORS_ORIGIN_DENIED and no CORS headers, without forwarding', async () => {
    let res!: RawResponse;
    const forwarded = await reachedOrigin(async () => {
      res = await preflight('/exact/1', 'https://evil.example.org');
    });
    expect(forwarded).toBe(0);
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()['code']).toBe('ERR_CORS_ORIGIN_DENIED');
    expect(corsHeaders(res)).toEqual({});
    expect(varyTokens(res)).toContain('origin');
  });

  it('reflects the requested headers when allowHeaders is not given, and varies on them', async () => {
    const res = await preflight('/wild', 'https://shop.example.com', 'DELETE', {
      'access-control-request-headers': 'content-type,x-custom',
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers']).toBe('content-type,x-custom');
    expect(res.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE');
    expect(res.headers).not.toHaveProperty('access-control-max-age');
    expect(res.headers).not.toHaveProperty('access-control-allow-credentials');
    expect(varyTokens(res)).toEqual(expect.arrayContaining(['origin', 'access-control-request-headers']));
  });

  it('does not reflect a requested header list that is not a list of header names', async () => {
    const res = await preflight('/wild', 'https://shop.example.com', 'PUT', { 'access-control-request-headers': 'a b, (c)' });
    expect(res.status).toBe(204);
    expect(res.headers).not.toHaveProperty('access-control-allow-headers');
  });

  it('still answers 405 to a preflight on a route without CORS that does not take OPTIONS', async () => {
    const res = await preflight('/plain', APP, 'GET');
    expect(res.status).toBe(405);
    expect(corsHeaders(res)).toEqual({});
  });

  it('forwards a plain OPTIONS (no Access-Control-Request-Method) as an actual request, with CORS headers on the answer', async () => {
    let res!: RawResponse;
    const forwarded = await reachedOrigin(async () => {
      res = await send('/wild', { origin: 'https://shop.example.com' }, 'OPTIONS');
    });
    expect(forwarded).toBe(1);
    expect(res.status).toBe(200);
    expect(res.json()['method']).toBe('OPTIONS');
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example.com');
  });
});

describe('cors: actual requests', () => {
  it('sets Allow-Origin, Allow-Credentials and Expose-Headers for an allowed origin', async () => {
    const res = await send('/exact/1', { origin: 'http://localhost:5173' });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-expose-headers']).toBe('x-request-id, x-total');
    // Preflight-only headers are not on an actual response.
    expect(res.headers).not.toHaveProperty('access-control-allow-methods');
    expect(res.headers).not.toHaveProperty('access-control-max-age');
  });

  it('forwards a disallowed origin to the origin and answers without CORS headers, even those the origin set', async () => {
    let res!: RawResponse;
    const forwarded = await reachedOrigin(async () => {
      res = await send('/exact/1?h=access-control-allow-origin:*&h=access-control-allow-credentials:true', {
        origin: 'https://evil.example.org',
      });
    });
    expect(forwarded).toBe(1);
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({});
    expect(varyTokens(res)).toContain('origin');
  });

  it("replaces the origin's own Access-Control-* headers with the policy's for an allowed origin", async () => {
    const res = await send('/exact/1?h=access-control-allow-origin:*&h=access-control-expose-headers:x-secret', { origin: APP });
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-expose-headers']).toBe('x-request-id, x-total');
  });

  it("appends Origin to the origin's Vary instead of replacing it, and does not repeat it", async () => {
    const own = await send('/exact/1?h=vary:Accept-Encoding', { origin: APP });
    expect(own.headers['vary']).toBe('Accept-Encoding, Origin');
    const already = await send('/exact/1?h=vary:origin', { origin: APP });
    expect(already.headers['vary']).toBe('origin');
  });

  it('sets Vary: Origin on a response to a request without Origin (the answer depends on it)', async () => {
    const res = await send('/exact/1', {});
    expect(corsHeaders(res)).toEqual({});
    expect(varyTokens(res)).toContain('origin');
  });
});

describe('cors: origin forms', () => {
  it('exact origins match as browsers serialize them, nothing looser', async () => {
    expect((await send('/exact/1', { origin: APP })).headers['access-control-allow-origin']).toBe(APP);
    for (const other of ['https://app.example.com:8443', 'http://app.example.com', 'https://app.example.com.evil.test', 'null']) {
      expect(corsHeaders(await send('/exact/1', { origin: other })), other).toEqual({});
    }
  });

  it('a wildcard matches subdomains at any depth and never the apex, another scheme or another port', async () => {
    for (const ok of ['https://shop.example.com', 'https://a.b.example.com']) {
      expect((await send('/wild', { origin: ok })).headers['access-control-allow-origin'], ok).toBe(ok);
    }
    for (const bad of [
      'https://example.com',
      'http://shop.example.com',
      'https://shop.example.com:8443',
      'https://shop.example.com.evil.test',
      'https://evil.test/.example.com',
      'https://.example.com',
    ]) {
      expect(corsHeaders(await send('/wild', { origin: bad })), bad).toEqual({});
    }
  });

  it('a regex must match the whole origin', async () => {
    const ok = 'https://pr-42.preview.example.net';
    expect((await send('/regex', { origin: ok })).headers['access-control-allow-origin']).toBe(ok);
    expect((await preflight('/regex', ok, 'GET')).status).toBe(204);
    for (const bad of [
      'https://pr-x.preview.example.net',
      'https://pr-42.preview.example.net.evil.test',
      'xhttps://pr-42.preview.example.net',
    ]) {
      expect(corsHeaders(await send('/regex', { origin: bad })), bad).toEqual({});
    }
  });

  it('"*" answers every origin with Allow-Origin: * and no Vary: Origin', async () => {
    const actual = await send('/any', { origin: 'https://anyone.test' });
    expect(actual.headers['access-control-allow-origin']).toBe('*');
    expect(varyTokens(actual)).not.toContain('origin');
    const without = await send('/any', {});
    expect(without.headers['access-control-allow-origin']).toBe('*');
    const pre = await preflight('/any', 'https://anyone.test', 'POST');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-max-age']).toBe('60');
    expect(varyTokens(pre)).not.toContain('origin');
  });
});

describe('cors: defaults and refusals', () => {
  it('defaults.cors applies to a route without its own block, and cors: false turns it off', async () => {
    const from = 'https://default.example.com';
    expect((await send('/defaulted', { origin: from })).headers['access-control-allow-origin']).toBe(from);
    expect((await preflight('/defaulted', from, 'GET')).status).toBe(204);
    // A route's own block replaces the default one.
    expect(corsHeaders(await send('/exact/1', { origin: from }))).toEqual({});
    // Off: no CORS headers, and a preflight is the origin's to answer.
    expect(corsHeaders(await send('/off', { origin: from }))).toEqual({});
    let pre!: RawResponse;
    const forwarded = await reachedOrigin(async () => {
      pre = await preflight('/off', from, 'GET');
    });
    expect(forwarded).toBe(1);
    expect(pre.json()['method']).toBe('OPTIONS');
  });

  it("decorates the upstream step's 502 problem, so the page can read it", async () => {
    const from = 'https://default.example.com';
    const res = await send('/dead', { origin: from });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['access-control-allow-origin']).toBe(from);
    expect(varyTokens(res)).toContain('origin');
  });
});

describe('cors: validate', () => {
  async function issuesOf(input: PorticoConfig): Promise<string[]> {
    try {
      await compileConfig(input);
    } catch (e) {
      if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
      throw e;
    }
    return [];
  }
  const base = (cors: unknown, defaults?: unknown): PorticoConfig =>
    ({
      origins: { o: { url: 'http://127.0.0.1:9', region: 'x' } },
      ...(defaults ? { defaults: { cors: defaults } } : {}),
      routes: [
        { match: { path: '/a' }, upstream: 'o', ...(cors ? { cors } : {}) },
        { match: { path: '/b' }, upstream: 'o' },
      ],
    }) as PorticoConfig;

  it('refuses "*" with credentials, naming the path', async () => {
    const issues = await issuesOf(base({ origins: '*', credentials: true }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^routes\[0\]\.cors\.origins: "\*" cannot be combined with credentials: true/);
    const lists = await issuesOf(base({ origins: [APP], credentials: true, exposeHeaders: ['*'], allowHeaders: ['*'] }));
    expect(lists.map((i) => i.split(':')[0])).toEqual(['routes[0].cors.allowHeaders', 'routes[0].cors.exposeHeaders']);
  });

  it('says a problem of defaults.cors once, not once per route', async () => {
    const issues = await issuesOf(base(undefined, { origins: '*', credentials: true }));
    expect(issues).toEqual([expect.stringMatching(/^defaults\.cors\.origins: "\*" cannot be combined with credentials/)]);
  });

  it('refuses origins that browsers never send, with the form to write', async () => {
    const issues = await issuesOf(
      base({
        origins: [
          'https://App.example.com/',
          'https://a.example.com:443',
          'null',
          'https://*-pr.example.com',
          'https://*.com',
          '*',
        ],
      }),
    );
    expect(issues[0]).toMatch(/^routes\[0\]\.cors\.origins\[0\]: .*write "https:\/\/app\.example\.com"/);
    expect(issues[1]).toMatch(/^routes\[0\]\.cors\.origins\[1\]: .*write "https:\/\/a\.example\.com"/);
    expect(issues[2]).toMatch(/^routes\[0\]\.cors\.origins\[2\]: the "null" origin cannot be allowed/);
    expect(issues[3]).toMatch(/^routes\[0\]\.cors\.origins\[3\]: expected "\*" only as the whole leftmost label/);
    expect(issues[4]).toMatch(/^routes\[0\]\.cors\.origins\[4\]: expected at least two labels/);
    expect(issues[5]).toMatch(/^routes\[0\]\.cors\.origins\[5\]: expected "\*" alone/);
  });

  it('refuses a regex that can backtrack without bound, or that would escape its anchors', async () => {
    const issues = await issuesOf(
      base({ origins: [{ regex: 'https://(a+)+\\.example\\.com' }, { regex: 'https://a)|(b' }, { regex: '(x' }] }),
    );
    expect(issues[0]).toMatch(/^routes\[0\]\.cors\.origins\[0\]\.regex: unsafe regular expression: a repeated group/);
    expect(issues[1]).toMatch(/^routes\[0\]\.cors\.origins\[1\]\.regex: unsafe regular expression: unbalanced "\)"/);
    expect(issues[2]).toMatch(/^routes\[0\]\.cors\.origins\[2\]\.regex: expected a valid regular expression/);
  });

  it('tells safe regex shapes from the ones that backtrack exponentially', () => {
    for (const safe of [
      'https://pr-[0-9]+\\.preview\\.example\\.com',
      'https://(app|admin)\\.example\\.com',
      'https://(?:www\\.)?example\\.com',
      'https://(?<env>dev|qa)-[a-z]+\\.example\\.com',
      'https://[(+*]+\\.example\\.com',
    ]) {
      expect(unsafeRegexReason(safe), safe).toBeNull();
    }
    for (const unsafe of ['(a+)+', '(a|aa)*', '((ab)*c)+', '(a*){2,}', '([a-z]+\\.)*example\\.com', '(a)\\1']) {
      expect(unsafeRegexReason(unsafe), unsafe).not.toBeNull();
    }
  });

  it('refuses a maxAge beyond what browsers keep, and unknown fields', async () => {
    const issues = await issuesOf(base({ origins: [APP], maxAge: 100000, allow: [] }));
    expect(issues.some((i) => i.startsWith('routes[0].cors'))).toBe(true);
    expect(issues.join('\n')).toMatch(/at most 86400 seconds/);
  });
});
