/**
 * THE conformance table: one list of HTTP cases, run unchanged against the gateway built for each
 * target and started in its real runtime (test/runtimes/*.test.ts). The config they run against is
 * test/runtimes/conformance.config.json; expected values come from what the loopback origins
 * (test/runtimes/_origins.ts) observed, not from mocks.
 *
 * Requests are sent with node:http so the request-target goes out byte for byte (`fetch` would
 * resolve `..` and `%2e` itself before sending).
 */
import { request as httpRequest } from 'node:http';
import { readBodyOutcome } from '../e2e/_harness.ts';
import { importJWK, SignJWT } from 'jose';
import { expect } from 'vitest';
import type { Observed, Origins } from './_origins.ts';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface CaseContext {
  /** Base URL of the runtime under test. */
  url: string;
  origins: Origins;
  /** The `hash` of the config compiled into the artifact. */
  configHash: string;
  send(req: CaseRequest): Promise<RawResponse>;
}

export interface CaseRequest {
  method?: string;
  /** Request-target, sent as is (percent-encoding and dot segments untouched). */
  path: string;
  /** Host header; default `127.0.0.1:<port>`. */
  host?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Where a case does not run, and why (said in the test title and in the README). */
/** A runtime (by build target) left out of a case, with the host limit that forces it. */
export type Exclusion = { runtime: 'wasi' | 'vercel'; reason: string };

export interface ConformanceCase {
  group: string;
  name: string;
  run(ctx: CaseContext): Promise<void>;
  /** Runtimes that skip this case for a documented platform limit. Empty for nearly all. */
  notOn?: Exclusion[];
}

/** Sends one request with node:http and reads the whole response. */
export function sendRaw(base: string, req: CaseRequest, timeoutMs = 15_000): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: req.host ?? url.host, ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const r = httpRequest(
      { host: url.hostname, port: url.port, method: req.method ?? 'GET', path: req.path, headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) out[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
          resolve({ status: res.statusCode ?? 0, headers: out, body });
        });
        res.on('error', reject);
      },
    );
    r.setTimeout(timeoutMs, () =>
      r.destroy(new Error(`no complete answer to ${req.method ?? 'GET'} ${req.path} within ${timeoutMs} ms`)),
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

/** The echo origin's record of the request the gateway forwarded. */
function observed(res: RawResponse): Observed {
  expect(res.status, `expected the echo origin's 200, got ${res.status}: ${res.body.slice(0, 300)}`).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return JSON.parse(res.body) as Observed;
}

/** Asserts an RFC 9457 problem response with this status, and returns its body. */
function problem(res: RawResponse, status: number): Record<string, unknown> {
  expect(res.status, res.body.slice(0, 300)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body['status']).toBe(status);
  expect(typeof body['title']).toBe('string');
  return body;
}

/** A request routed through the gateway to the echo origin: which route matched, what arrived. */
async function routed(
  ctx: CaseContext,
  req: CaseRequest,
): Promise<{ route: string | undefined; seen: Observed; res: RawResponse }> {
  const res = await ctx.send(req);
  const seen = observed(res);
  return { route: seen.headers['x-conformance-route'], seen, res };
}

/** The key whose hash is in conformance.config.json (apiKeys.conformance): a test key, nothing else. */
const CONFORMANCE_API_KEY = 'pk_2O3ls_ZRU-dGbWtAbm_bF9lRVxkCVxoWRbBrdWol_iM';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Why edge-runtime sits out the cases where an origin's body fails mid-way. */
const EDGE_RUNTIME_BODY_ERROR =
  "edge-runtime 4.0.1 (the local stand-in for Vercel's platform) ends the response cleanly when the body stream errors and leaves the error unhandled (Node would exit without the test host's handler)";

export const CASES: ConformanceCase[] = [
  // ── routing precedence: exact > params > prefix (longest first) > regex > fallback ──
  {
    group: 'routing precedence',
    name: 'an exact route beats the param and prefix routes that also match',
    async run(ctx) {
      const { route, seen } = await routed(ctx, { path: '/things/special' });
      expect(route).toBe('exact-special');
      expect(seen.url).toBe('/things/special');
    },
  },
  {
    group: 'routing precedence',
    name: 'a param route beats the prefix route',
    async run(ctx) {
      expect((await routed(ctx, { path: '/things/42' })).route).toBe('param-thing');
      expect((await routed(ctx, { path: '/things/42/parts/7' })).route).toBe('param-thing-part');
    },
  },
  {
    group: 'routing precedence',
    name: 'the longest prefix wins, and a prefix route beats a regex that also matches',
    async run(ctx) {
      expect((await routed(ctx, { path: '/files/deep/a.txt' })).route).toBe('prefix-files-deep');
      expect((await routed(ctx, { path: '/files/a.txt' })).route).toBe('prefix-files');
      expect((await routed(ctx, { path: '/things/42/other/x' })).route).toBe('prefix-things');
    },
  },
  {
    group: 'routing precedence',
    name: 'a regex route matches the whole normalized path and beats the fallback',
    async run(ctx) {
      const { route, seen } = await routed(ctx, { path: '/reports/2026.csv?x=1', host: 'fallback.test' });
      expect(route).toBe('regex-report');
      expect(seen.url).toBe('/reports/2026.csv?x=1');
      expect((await routed(ctx, { path: '/reports/26.csv', host: 'fallback.test' })).route).toBe('fallback');
    },
  },
  {
    group: 'routing precedence',
    name: 'no route: 404 as problem+json',
    async run(ctx) {
      const body = problem(await ctx.send({ path: '/nothing/here' }), 404);
      expect(JSON.stringify(body)).not.toContain(ctx.origins.echo);
    },
  },
  {
    group: 'routing precedence',
    name: 'a method the route does not allow: 405 with Allow',
    async run(ctx) {
      const res = await ctx.send({ path: '/submit' });
      problem(res, 405);
      expect(res.headers['allow']).toContain('POST');
      const { route, seen } = await routed(ctx, {
        method: 'POST',
        path: '/submit',
        body: 'a=1',
        headers: { 'content-type': 'text/plain' },
      });
      expect(route).toBe('submit');
      expect(seen.method).toBe('POST');
      expect(seen.body).toBe('a=1');
    },
  },

  // ── params ──
  {
    group: 'params',
    name: 'a param takes one whole segment, forwarded with its encoding',
    async run(ctx) {
      const { route, seen } = await routed(ctx, { path: '/things/a%20b?q=1&q=2' });
      expect(route).toBe('param-thing');
      expect(seen.url).toBe('/things/a%20b?q=1&q=2');
      // An empty segment is not a param value: /things/ is only a prefix match.
      expect((await routed(ctx, { path: '/things/' })).route).toBe('prefix-things');
    },
  },

  // ── host routing ──
  {
    group: 'host routing',
    name: 'an exact host route wins over any-host routes, case-insensitively and without the port',
    async run(ctx) {
      expect((await routed(ctx, { path: '/things/special', host: 'api.example.com' })).route).toBe('host-exact');
      expect((await routed(ctx, { path: '/x', host: 'API.Example.COM:8080' })).route).toBe('host-exact');
    },
  },
  {
    group: 'host routing',
    name: '*.example.com matches subdomains but not the apex',
    async run(ctx) {
      expect((await routed(ctx, { path: '/things/special', host: 'shop.example.com' })).route).toBe('host-wildcard');
      expect((await routed(ctx, { path: '/things/special', host: 'a.b.example.com' })).route).toBe('host-wildcard');
      expect((await routed(ctx, { path: '/things/special', host: 'example.com' })).route).toBe('exact-special');
    },
  },

  // ── rewrites ──
  {
    group: 'rewrites',
    name: 'stripPrefix removes the prefix on a segment boundary, keeping the query',
    async run(ctx) {
      expect((await routed(ctx, { path: '/strip/a/b?x=1' })).seen.url).toBe('/a/b?x=1');
      expect((await routed(ctx, { path: '/strip' })).seen.url).toBe('/');
    },
  },
  {
    group: 'rewrites',
    name: 'replacePrefix sends /v1/... to /v2/...',
    async run(ctx) {
      const { route, seen } = await routed(ctx, { path: '/v1/users/7?full=1' });
      expect(route).toBe('v1');
      expect(seen.url).toBe('/v2/users/7?full=1');
    },
  },

  // ── header transforms ──
  {
    group: 'header transforms',
    name: 'request headers are set and removed before forwarding; response headers after',
    async run(ctx) {
      const { seen, res } = await routed(ctx, { path: '/headers', headers: { 'x-remove-me': 'secret', 'x-keep': 'yes' } });
      expect(seen.headers['x-added']).toBe('by-gateway');
      expect(seen.headers['x-keep']).toBe('yes');
      expect(seen.headers).not.toHaveProperty('x-remove-me');
      expect(res.headers['x-gateway-response']).toBe('set');
      expect(res.headers['x-origin-header']).toBe('kept');
      expect(res.headers).not.toHaveProperty('x-origin-secret');
    },
  },
  {
    group: 'header transforms',
    name: 'X-Forwarded-For from an untrusted client is replaced, not appended to',
    async run(ctx) {
      const { seen } = await routed(ctx, { path: '/headers', headers: { 'x-forwarded-for': '203.0.113.9' } });
      expect(seen.headers['x-forwarded-for'] ?? '').not.toContain('203.0.113.9');
    },
  },

  // ── request id ──
  {
    group: 'request id',
    name: 'a valid X-Request-ID is propagated to the origin and echoed to the client',
    async run(ctx) {
      const { seen, res } = await routed(ctx, { path: '/things/1', headers: { 'x-request-id': 'conformance-0001' } });
      expect(seen.headers['x-request-id']).toBe('conformance-0001');
      expect(res.headers['x-request-id']).toBe('conformance-0001');
    },
  },
  {
    group: 'request id',
    name: 'without one, an id is generated and the origin and client see the same one',
    async run(ctx) {
      const { seen, res } = await routed(ctx, { path: '/things/1' });
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect(seen.headers['x-request-id']).toBe(res.headers['x-request-id']);
      const again = await routed(ctx, { path: '/things/1' });
      expect(again.res.headers['x-request-id']).not.toBe(res.headers['x-request-id']);
    },
  },

  // ── normalization ──
  {
    group: 'normalization',
    name: 'dot segments (plain and %2e) are resolved before matching; the origin gets that path',
    async run(ctx) {
      const plain = await routed(ctx, { path: '/things/x/../special' });
      expect(plain.route).toBe('exact-special');
      expect(plain.seen.url).toBe('/things/special');
      const encoded = await routed(ctx, { path: '/files/x/%2e%2e/a.txt' });
      expect(encoded.route).toBe('prefix-files');
      expect(encoded.seen.url).toBe('/files/a.txt');
      const dot = await routed(ctx, { path: '/things/./42' });
      expect(dot.route).toBe('param-thing');
      expect(dot.seen.url).toBe('/things/42');
    },
  },
  {
    group: 'normalization',
    name: 'a raw backslash in the path is read as "/", as a URL parser reads an http URL',
    async run(ctx) {
      const plain = await routed(ctx, { path: '/things\\special' });
      expect(plain.route).toBe('exact-special');
      expect(plain.seen.url).toBe('/things/special');
      const dots = await routed(ctx, { path: '/things/x\\..\\42?q=1' });
      expect(dots.route).toBe('param-thing');
      expect(dots.seen.url).toBe('/things/42?q=1');
    },
  },
  {
    group: 'normalization',
    name: 'encoded unreserved characters are decoded and repeated slashes collapse',
    async run(ctx) {
      const tilde = await routed(ctx, { path: '/things/%7Euser' });
      expect(tilde.route).toBe('param-thing');
      expect(tilde.seen.url).toBe('/things/~user');
      const slashes = await routed(ctx, { path: '/things//42' });
      expect(slashes.route).toBe('param-thing');
      expect(slashes.seen.url).toBe('/things/42');
    },
  },
  {
    group: 'normalization',
    name: 'an encoded slash, double encoding or an encoded control character is 400 problem+json',
    async run(ctx) {
      for (const path of [
        '/things/a%2Fb',
        '/things/a%2fb',
        '/things/%252e%252e/x',
        '/things/%00',
        '/things/a%5Cb',
        '/things/%zz',
      ]) {
        const res = await ctx.send({ path });
        expect(res.status, `${path}: ${res.body.slice(0, 200)}`).toBe(400);
        problem(res, 400);
      }
    },
  },

  // ── upstream failures ──
  {
    group: 'upstream failures',
    name: 'a refused origin is 502 problem+json that does not reveal the origin',
    async run(ctx) {
      const res = await ctx.send({ path: '/down' });
      const body = problem(res, 502);
      expect(JSON.stringify(body)).not.toContain(new URL(ctx.origins.closed).port);
      expect(res.headers['x-request-id']).toMatch(UUID);
    },
  },
  {
    group: 'upstream failures',
    name: 'a refused origin fails over to the next one for GET, and not for DELETE or POST',
    async run(ctx) {
      expect(observed(await ctx.send({ path: '/failover' })).method).toBe('GET');
      // Whether a request has a body differs between runtimes, and a body that a failed attempt
      // began to read cannot be sent twice: other methods go to one origin, with or without one.
      problem(await ctx.send({ path: '/failover', method: 'DELETE' }), 502);
      problem(await ctx.send({ path: '/failover', method: 'POST', body: 'payload' }), 502);
    },
  },
  {
    group: 'upstream failures',
    name: 'an origin slower than timeoutMs is 504 problem+json, answered at about the timeout',
    async run(ctx) {
      const started = Date.now();
      const res = await ctx.send({ path: '/slow' });
      const elapsed = Date.now() - started;
      problem(res, 504);
      // timeoutMs is 1000 for the slow origin; the origin itself would answer after 10 s.
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(8_000);
    },
  },

  // ── resilience ──
  {
    group: 'resilience',
    name: "an open breaker sends the next request straight to the next origin, without waiting for the slow one's timeout",
    notOn: [
      { runtime: 'wasi', reason: 'jco serve runs each request in a fresh instance: no breaker state lives between requests' },
    ],
    async run(ctx) {
      // The slow origin's breaker opens on its first failure (conformance.config.json); the
      // route's per-try timeout is 400 ms.
      const first = await ctx.send({ path: '/breaker-failover' });
      expect(first.status).toBe(200);
      expect(JSON.parse(first.body)).toMatchObject({ url: '/breaker-failover' });
      const started = Date.now();
      const second = await ctx.send({ path: '/breaker-failover' });
      const elapsed = Date.now() - started;
      expect(second.status).toBe(200);
      expect(JSON.parse(second.body)).toMatchObject({ url: '/breaker-failover' });
      // Without the open breaker it would wait 400 ms for the slow origin first.
      expect(elapsed).toBeLessThan(350);
    },
  },
  {
    group: 'resilience',
    name: 'a request over the route limit is shed at once with 503 problem+json and Retry-After',
    notOn: [
      {
        runtime: 'wasi',
        reason: 'jco serve runs each request in a fresh instance: a per-instance limit never sees two requests',
      },
    ],
    async run(ctx) {
      const holding = ctx.send({ path: '/shed' });
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const shed = await ctx.send({ path: '/shed' });
      expect(Date.now() - started).toBeLessThan(1000);
      const body = problem(shed, 503);
      expect(body['code']).toBe('ERR_OVERLOADED');
      expect(shed.headers['retry-after']).toBe('3');
      problem(await holding, 504);
    },
  },

  // ── streaming ──
  {
    group: 'streaming',
    name: "the origin's first bytes reach the client before the origin has finished",
    async run(ctx) {
      const { streamControl, streamFirst, streamRest } = ctx.origins;
      const url = new URL(ctx.url);
      const firstSent = streamControl.firstChunkSent();
      const result = await new Promise<{ before: string; all: string; status: number }>((resolve, reject) => {
        const r = httpRequest({ host: url.hostname, port: url.port, path: '/stream', agent: false }, (res) => {
          let all = '';
          let before: string | null = null;
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            all += c;
            if (before === null && all.length >= streamFirst.length) {
              // The origin is holding the rest until released: what arrived so far came streamed.
              before = all;
              streamControl.release();
            }
          });
          res.on('end', () => resolve({ before: before ?? '', all, status: res.statusCode ?? 0 }));
          res.on('error', reject);
        });
        r.setTimeout(10_000, () => r.destroy(new Error('the first chunk did not arrive while the origin held the rest')));
        r.on('error', reject);
        r.end();
      });
      await firstSent;
      expect(result.status).toBe(200);
      expect(result.before).toBe(streamFirst);
      expect(result.all).toBe(streamFirst + streamRest);
    },
  },

  {
    group: 'streaming',
    name: 'an origin failing mid-body never reaches the client as a complete response',
    notOn: [
      {
        runtime: 'vercel',
        reason: EDGE_RUNTIME_BODY_ERROR,
      },
      {
        runtime: 'wasi',
        reason:
          'jco serve with StarlingMonkey (componentize-js 0.19.3) ends the response cleanly when the body stream errors ("body ReadableStream closed during body streaming"), so the client gets a truncated body that looks complete; the component cannot make the host abort the response',
      },
    ],
    async run(ctx) {
      const { streamFirst } = ctx.origins;
      // A truncated body must not end like a whole one: with chunked encoding, a clean end would
      // let a client or a cache keep half a response as if it were all of it.
      const outcome = await readBodyOutcome(ctx.url, '/stream?break=1');
      expect(outcome.status).toBe(200);
      expect(outcome.body.startsWith(streamFirst) || outcome.body === '').toBe(true);
      expect(outcome.ended).toBe('broken');
      // The same when the origin breaks as soon as its first chunk is out, while the gateway may
      // still be deciding how to write its response (a race: tried a few times).
      for (let i = 0; i < 5; i++) {
        const early = await readBodyOutcome(ctx.url, '/stream?break=now');
        expect(early.body.startsWith(streamFirst) || early.body === '').toBe(true);
        expect(early.ended).toBe('broken');
      }
    },
  },

  {
    group: 'streaming',
    name: 'an origin silent mid-body for longer than its timeout breaks the client connection at about the timeout',
    notOn: [
      {
        runtime: 'vercel',
        reason: EDGE_RUNTIME_BODY_ERROR,
      },
      {
        runtime: 'wasi',
        reason:
          'jco serve with StarlingMonkey (componentize-js 0.19.3) ends the response cleanly when the body stream errors, so the client gets a truncated body that looks complete',
      },
    ],
    async run(ctx) {
      const { streamFirst, streamControl } = ctx.origins;
      // The stall origin sends its first chunk, then holds the rest; the route's timeout is 1000 ms.
      const outcome = await readBodyOutcome(ctx.url, '/stall');
      streamControl.release();
      expect(outcome.status).toBe(200);
      expect(outcome.body).toBe(streamFirst);
      expect(outcome.ended).toBe('broken');
      expect(outcome.ms).toBeGreaterThan(900);
      expect(outcome.ms).toBeLessThan(3000);
    },
  },

  // ── health ──
  {
    group: 'health',
    name: '/health answers 200 with the hash of the config compiled into the artifact',
    async run(ctx) {
      const res = await ctx.send({ path: '/health', host: 'anything.example.com' });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const body = JSON.parse(res.body) as { status: string; config: string };
      expect(body.status).toBe('ok');
      expect(body.config).toBe(ctx.configHash);
    },
  },

  // ── identity: API keys and identity headers (routes identity-key and headers) ──
  {
    group: 'identity',
    name: 'client-sent identity headers are stripped, on a route with auth and on one without',
    async run(ctx) {
      const spoofed = {
        'x-portico-consumer': 'admin',
        'X-Portico-Subject': 'root',
        'x-portico-scopes': 'everything',
        'x-portico-auth': 'jwt',
        'x-conformance-plan': 'enterprise',
      };
      const open = await routed(ctx, { path: '/headers', headers: spoofed });
      expect(open.route).toBe('headers');
      for (const name of Object.keys(spoofed)) expect(open.seen.headers[name.toLowerCase()], name).toBeUndefined();
      const authed = await routed(ctx, { path: '/identity/key', headers: { ...spoofed, 'x-api-key': CONFORMANCE_API_KEY } });
      expect(authed.route).toBe('identity-key');
      expect(authed.seen.headers['x-portico-consumer']).toBe('conformance');
      expect(authed.seen.headers['x-portico-scopes']).toBe('read');
      expect(authed.seen.headers['x-portico-auth']).toBe('apiKey');
      expect(authed.seen.headers['x-conformance-plan']).toBe('test');
      expect(authed.seen.headers['x-portico-subject']).toBeUndefined();
    },
  },
  {
    group: 'identity',
    name: 'an API key is accepted from the header, and from the query with the rest of the query intact',
    async run(ctx) {
      const byHeader = await routed(ctx, { path: '/identity/key?a=1', headers: { 'x-api-key': CONFORMANCE_API_KEY } });
      expect(byHeader.seen.headers['x-api-key']).toBeUndefined();
      expect(byHeader.seen.url).toBe('/identity/key?a=1');
      const byQuery = await routed(ctx, { path: `/identity/key?z=%20a+b&api_key=${CONFORMANCE_API_KEY}&x=~1` });
      expect(byQuery.seen.url).toBe('/identity/key?z=%20a+b&x=~1');
      expect(byQuery.seen.headers['x-portico-consumer']).toBe('conformance');
    },
  },
  {
    group: 'identity',
    name: 'a missing or unknown API key is refused with 401 and an ApiKey challenge, and never echoed',
    async run(ctx) {
      const missing = await ctx.send({ path: '/identity/key' });
      expect(problem(missing, 401)['code']).toBe('ERR_API_KEY_MISSING');
      expect(missing.headers['www-authenticate']).toBe('ApiKey header="x-api-key", query="api_key"');
      const wrongKey = `${CONFORMANCE_API_KEY.slice(0, -1)}x`;
      const unknown = await ctx.send({ path: '/identity/key', headers: { 'x-api-key': wrongKey } });
      expect(problem(unknown, 401)['code']).toBe('ERR_API_KEY_INVALID');
      expect(unknown.body).not.toContain(wrongKey);
      const inQuery = await ctx.send({ path: `/identity/key?api_key=${wrongKey}` });
      expect(problem(inQuery, 401)['code']).toBe('ERR_API_KEY_INVALID');
      expect(inQuery.body).not.toContain(wrongKey);
    },
  },
  // ── cors ──
  {
    group: 'cors',
    name: 'a preflight is answered at the edge and never forwarded',
    notOn: [
      {
        runtime: 'wasi',
        reason:
          "jco serve's preview2-shim reads the outgoing body of every response and crashes the server (`#outputStreamId` of undefined) on a 204, for which StarlingMonkey never asks for one; the gateway logs the 204 before the host fails",
      },
    ],
    async run(ctx) {
      const ask = { origin: 'https://app.example.com', 'access-control-request-method': 'GET' };
      // The route's origin refuses connections: a forwarded preflight would be a 502.
      const res = await ctx.send({ method: 'OPTIONS', path: '/cors/edge', headers: ask });
      expect(res.status, res.body.slice(0, 300)).toBe(204);
      expect(res.body).toBe('');
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['access-control-allow-methods']).toContain('GET');
      expect(res.headers['access-control-max-age']).toBe('600');
      expect(res.headers['vary']).toMatch(/origin/i);
      // On a route to the echo origin, the answer is still the gateway's, not the echo's JSON.
      const echoed = await ctx.send({
        method: 'OPTIONS',
        path: '/cors/echo',
        headers: { ...ask, origin: 'https://shop.example.com' },
      });
      expect(echoed.status).toBe(204);
      expect(echoed.body).toBe('');
      expect(echoed.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    },
  },
  {
    group: 'cors',
    name: 'a disallowed origin gets no CORS headers',
    async run(ctx) {
      const corsHeaders = (res: RawResponse) => Object.keys(res.headers).filter((n) => n.startsWith('access-control-'));
      // An actual request still reaches the origin; the answer has no CORS headers.
      const { route, res } = await routed(ctx, { path: '/cors/echo', headers: { origin: 'https://example.com.evil.test' } });
      expect(route).toBe('cors-echo');
      expect(corsHeaders(res)).toEqual([]);
      expect(res.headers['vary']).toMatch(/origin/i);
      // Its preflight is refused without them, and not forwarded.
      const pre = await ctx.send({
        method: 'OPTIONS',
        path: '/cors/edge',
        headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' },
      });
      expect(problem(pre, 403)['code']).toBe('ERR_CORS_ORIGIN_DENIED');
      expect(corsHeaders(pre)).toEqual([]);
      // An allowed origin on the same route does get them.
      const ok = await routed(ctx, { path: '/cors/echo', headers: { origin: 'https://app.example.com' } });
      expect(ok.res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    },
  },
  // ── jwt ──
  {
    group: 'jwt',
    name: 'JWT accepted: a valid ES256 token with the scope reaches the origin',
    async run(ctx) {
      const token = await conformanceToken({ scope: 'conformance:read other' });
      const { route, seen } = await routed(ctx, { path: '/jwt/ok', headers: { authorization: `Bearer ${token}` } });
      expect(route).toBe('jwt');
      expect(seen.url).toBe('/jwt/ok');
      // Lower-case scheme, RFC 9110 §11.1.
      const lower = await routed(ctx, { path: '/jwt/lower', headers: { authorization: `bearer ${token}` } });
      expect(lower.route).toBe('jwt');
    },
  },
  {
    group: 'jwt',
    name: 'JWKS rotation: a new kid under 20 concurrent requests is accepted after one refetch (no 401 storm)',
    notOn: [
      {
        runtime: 'wasi',
        reason:
          'jco serve runs each request in a fresh instance here (--isolate-requests instance), so no key set outlives a request: each one fetches the JWKS (rotation is still accepted, the fetch count is not bounded)',
      },
    ],
    async run(ctx) {
      const first = await conformanceToken({}, 'conformance-jwks');
      expect((await routed(ctx, { path: '/jwt-jwks/before', headers: { authorization: `Bearer ${first}` } })).route).toBe(
        'jwt-jwks',
      );
      ctx.origins.rotateJwks();
      const before = ctx.origins.jwksFetches();
      const rotated = await conformanceToken({}, 'conformance-jwks-2');
      const statuses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          ctx.send({ path: `/jwt-jwks/rotated-${i}`, headers: { authorization: `Bearer ${rotated}` } }).then((r) => r.status),
        ),
      );
      expect(statuses).toEqual(Array(20).fill(200));
      expect(ctx.origins.jwksFetches() - before).toBe(1);
    },
  },
  {
    group: 'jwt',
    name: 'JWT accepted with a key the gateway fetched from a JWKS origin; an unknown kid is refused',
    async run(ctx) {
      const token = await conformanceToken({}, 'conformance-jwks');
      for (let i = 0; i < 3; i++) {
        const { route } = await routed(ctx, { path: `/jwt-jwks/ok-${i}`, headers: { authorization: `Bearer ${token}` } });
        expect(route).toBe('jwt-jwks');
      }
      expect(ctx.origins.jwksFetches()).toBeGreaterThanOrEqual(1);
      const path = `/jwt-jwks/unknown-${Math.random().toString(36).slice(2)}`;
      const res = await ctx.send({ path, headers: { authorization: `Bearer ${await conformanceToken({}, 'no-such-kid')}` } });
      problem(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
      expect(ctx.origins.echoSeen).not.toContain(path);
    },
  },
  {
    group: 'jwt',
    name: 'JWT refused: 401 with WWW-Authenticate (403 for a missing scope), and the origin is not reached',
    async run(ctx) {
      const good = await conformanceToken({ scope: 'conformance:read' });
      const [h, p, sig] = good.split('.') as [string, string, string];
      const forged = `${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      const cases: [string, Record<string, string>, number, RegExp][] = [
        ['missing', {}, 401, /^Bearer realm="portico"$/],
        [
          'forged',
          { authorization: `Bearer ${forged}` },
          401,
          /^Bearer realm="portico", error="invalid_token", error_description="[^"]+"$/,
        ],
        ['padded', { authorization: `Bearer ${good}==` }, 401, /error="invalid_token"/],
        [
          'expired',
          { authorization: `Bearer ${await conformanceToken({ scope: 'conformance:read', exp: 1000 })}` },
          401,
          /error="invalid_token"/,
        ],
        [
          'scope',
          { authorization: `Bearer ${await conformanceToken({ scope: 'other' })}` },
          403,
          /error="insufficient_scope", scope="conformance:read"/,
        ],
      ];
      for (const [name, headers, status, www] of cases) {
        const path = `/jwt/refused-${name}-${Math.random().toString(36).slice(2)}`;
        const res = await ctx.send({ path, headers });
        const body = problem(res, status);
        expect(res.headers['www-authenticate'], name).toMatch(www);
        expect(res.body, name).not.toContain(good.slice(0, 40));
        expect(body['code'], name).toBe(
          status === 403 ? 'ERR_INSUFFICIENT_SCOPE' : name === 'missing' ? 'ERR_AUTH_MISSING' : 'ERR_AUTH_INVALID',
        );
        expect(ctx.origins.echoSeen, `${name}: the origin saw a refused request`).not.toContain(path);
      }
    },
  },
  // ── hardening ──
  {
    group: 'hardening',
    name: 'TRACE is refused with 405 problem+json on a route that does not list it',
    async run(ctx) {
      const res = await ctx.send({ method: 'TRACE', path: '/things/1', headers: { cookie: 'session=secret' } });
      const body = problem(res, 405);
      expect(body['code']).toBe('ERR_METHOD_NOT_ALLOWED');
      expect(res.body).not.toContain('session=secret');
    },
    notOn: [
      {
        runtime: 'vercel',
        reason:
          "edge-runtime's Request refuses TRACE as a forbidden method (Fetch standard) before the gateway runs, so a TRACE never reaches it there",
      },
    ],
  },
  {
    group: 'hardening',
    name: 'every X-Forwarded-*, client-address header and path or method override from the client is removed',
    async run(ctx) {
      const sent = {
        'x-forwarded-user': 'admin',
        'x-forwarded-email': 'admin@example.com',
        'x-forwarded-groups': 'admins',
        'x-forwarded-access-token': 'forged',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-prefix': '/admin',
        'true-client-ip': '203.0.113.9',
        'x-real-ip': '203.0.113.9',
        forwarded: 'for=203.0.113.9',
        'x-original-url': '/admin',
        'x-rewrite-url': '/admin',
        'x-http-method-override': 'DELETE',
      };
      const { seen } = await routed(ctx, { path: '/headers', headers: sent });
      for (const name of Object.keys(sent)) {
        if (name === 'x-forwarded-proto' || name === 'x-forwarded-host') continue;
        expect(seen.headers[name], name).toBeUndefined();
      }
      expect(seen.headers['x-forwarded-proto']).toBe('http');
      expect(seen.headers['x-forwarded-host']).not.toBe('evil.example');
      // Where the runtime does not know the client's address, no empty entry is sent.
      if ('x-forwarded-for' in seen.headers) expect(seen.headers['x-forwarded-for']).toMatch(/^[0-9a-f.:]+(, [0-9a-f.:]+)*$/);
    },
  },
  {
    group: 'hardening',
    name: 'a client-set CF-Connecting-IP is not taken for the client address, and no empty X-Forwarded-For is sent',
    async run(ctx) {
      const { seen } = await routed(ctx, { path: '/headers', headers: { 'cf-connecting-ip': '203.0.113.9' } });
      expect(seen.headers['x-forwarded-for'] ?? '').not.toContain('203.0.113.9');
      expect(seen.headers['cf-connecting-ip']).toBeUndefined();
      expect(seen.headers['x-forwarded-for']).not.toBe('');
    },
  },
  {
    group: 'hardening',
    name: 'an absolute-form https target over plain HTTP does not make X-Forwarded-Proto https',
    async run(ctx) {
      const port = new URL(ctx.url).port;
      const res = await ctx.send({ path: `https://127.0.0.1:${port}/headers` });
      // Refused, or served with the scheme of the connection.
      if (res.status !== 200) {
        expect(res.status).toBe(400);
        return;
      }
      const seen = JSON.parse(res.body) as Observed;
      expect(seen.headers['x-forwarded-proto']).toBe('http');
    },
    notOn: [
      {
        runtime: 'vercel',
        reason:
          "the edge-runtime host (the local stand-in for Vercel's platform) builds the request URL from the target as written; on Vercel the platform terminates the connection and builds it",
      },
      {
        runtime: 'wasi',
        reason:
          'jco serve joins the authority and an absolute-form target into one URL and its process dies on it (TypeError: URL constructor) before the component runs',
      },
    ],
  },
  // ── rate limits ──
  {
    group: 'rateLimit',
    name: 'a local limit answers 429 with Retry-After and the draft RateLimit headers once used up, per client key',
    notOn: [
      {
        runtime: 'wasi',
        reason:
          'jco serve --isolate-requests instance gives every request a fresh instance, so per-instance (local) counts start from zero each time',
      },
    ],
    async run(ctx) {
      const client = `c-${Math.random().toString(36).slice(2)}`;
      const headers = { 'x-conformance-client': client };
      const first = await ctx.send({ path: '/limited', headers });
      const second = await ctx.send({ path: '/limited', headers });
      const third = await ctx.send({ path: '/limited', headers });
      expect([first.status, second.status, third.status]).toEqual([200, 200, 429]);
      expect(first.headers['ratelimit-policy']).toBe('"2-per-1m";q=2;w=60');
      expect(first.headers['ratelimit']).toBe('"2-per-1m";r=1;t=30');
      expect(third.headers['content-type']).toBe('application/problem+json');
      expect(third.headers['retry-after']).toBe('30');
      expect(third.headers['ratelimit']).toMatch(/^"2-per-1m";r=0;t=(59|60)$/);
      const other = await ctx.send({ path: '/limited', headers: { 'x-conformance-client': `${client}-other` } });
      expect(other.status).toBe(200);
    },
  },
  {
    group: 'cache',
    name: 'a cached route answers the second GET from the store, with Age and Cache-Status hit',
    notOn: [{ runtime: 'wasi', reason: 'jco serve runs each request in a fresh instance, so no in-memory entry outlives one' }],
    async run(ctx) {
      const path = `/cached/${Math.random().toString(36).slice(2)}`;
      const first = await ctx.send({ path });
      expect(first.status).toBe(200);
      expect(first.headers['cache-status']).toMatch(/^portico; fwd=uri-miss; fwd-status=200; stored; ttl=(59|60)$/);
      // The entry is written once the origin's whole body was read, in waitUntil: allow it a moment.
      let second = await ctx.send({ path });
      for (let i = 0; i < 20 && !second.headers['cache-status']?.startsWith('portico; hit'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        second = await ctx.send({ path });
      }
      // A request whose store read raced the write joins the finished origin request (coalesced).
      expect(second.headers['cache-status']).toMatch(/^portico; hit; ttl=(59|60)(; detail=coalesced)?$/);
      expect(second.headers['age']).toMatch(/^\d+$/);
      expect(second.body).toBe(first.body);
      expect(ctx.origins.echoSeen.filter((t) => t === path).length).toBe(1);
      const head = await ctx.send({ path, method: 'HEAD' });
      expect(head.headers['cache-status']).toMatch(/^portico; hit/);
      expect(head.body).toBe('');
    },
  },
  {
    group: 'cache',
    name: 'a POST on a cached route is forwarded with Cache-Status bypass and invalidates the URL',
    notOn: [{ runtime: 'wasi', reason: 'jco serve runs each request in a fresh instance, so no in-memory entry outlives one' }],
    async run(ctx) {
      const path = `/cached/${Math.random().toString(36).slice(2)}`;
      await ctx.send({ path });
      const post = await ctx.send({ path, method: 'POST', body: 'x' });
      expect(post.headers['cache-status']).toBe('portico; fwd=bypass; fwd-status=200');
      const after = await ctx.send({ path });
      expect(after.headers['cache-status']).toMatch(/^portico; fwd=uri-miss/);
    },
  },
];

/**
 * A token from the conformance issuer (test/runtimes/conformance.config.json holds its public
 * key). The private key is a test fixture, generated for these cases and used nowhere else.
 */
async function conformanceToken(claims: Record<string, unknown>, kid = 'conformance-es256'): Promise<string> {
  const key = await importJWK(CONFORMANCE_PRIVATE_JWK, 'ES256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: 'https://issuer.conformance.test',
    aud: 'conformance',
    sub: 'conformance-user',
    iat: now,
    exp: now + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid })
    .sign(key);
}

const CONFORMANCE_PRIVATE_JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: '4S1_wILZbULw8-PRW3PNVUeimrvOXbwT1CeCkVZPkUI',
  y: '2tyS8WmnCxvxHzimE6rSkKH0qqUbVNavdM7akevPNfw',
  d: 'A6cMuzDmc9ITnkxaRskNk_aggo87mcz2TXwUOdMPL6Y',
};
