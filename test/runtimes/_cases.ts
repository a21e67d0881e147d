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
];
