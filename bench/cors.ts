/**
 * The CORS benchmark: what the `cors` policy adds to one request, next to `hono/cors` on the
 * Hono `Context` it needs, for an actual request from an allowed origin and for a preflight.
 * It backs the choice, in core/policies/cors/index.ts, not to run hono's middleware per request.
 *
 * Rows (ns per request: the median of 7 rounds of 20,000 awaited calls each, after a warmup):
 * - `portico cors`: the route's handler built once by `corsPolicy.create`, called with the
 *   exchange (the gateway makes that exchange for every request, with or without CORS);
 * - `hono/cors + Context`: hono's middleware built once, called with a new `Context` per
 *   request, as it would have to be inside the pipeline;
 * - `inner only`: the inner step alone (a new Response per call), the floor both rows share.
 *
 * Before timing, both rows must give the same Access-Control-Allow-Origin and Vary for the same
 * request, and a 204 to the preflight.
 *
 * @example
 * // npx tsx bench/cors.ts
 */
import { Context } from 'hono';
import { cors as honoCors } from 'hono/cors';
import { compileConfig } from '../core/config/index.ts';
import { RouteExchange } from '../core/pipeline/exchange.ts';
import { corsPolicy } from '../core/policies/cors/index.ts';
import type { PolicyRuntime } from '../core/pipeline/policy.ts';

const ORIGIN = 'https://app.example.com';
const ORIGINS = ['https://admin.example.com', 'https://docs.example.com', ORIGIN];

const CALLS = 20_000;
const ROUNDS = 7;

/** Median over ROUNDS of the mean ns per awaited call (the calls are async, so each is awaited). */
async function timeNs(fn: () => Promise<Response>): Promise<number> {
  for (let i = 0; i < CALLS; i++) await fn();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) await fn();
    rounds.push(Number(process.hrtime.bigint() - start) / CALLS);
  }
  rounds.sort((a, b) => a - b);
  return rounds[ROUNDS >> 1] ?? Number.NaN;
}

async function main(): Promise<void> {
  const config = await compileConfig({
    origins: { o: { url: 'http://127.0.0.1:9', region: 'x' } },
    routes: [
      {
        match: { path: '/x' },
        upstream: 'o',
        cors: { origins: ORIGINS, exposeHeaders: ['x-request-id'], credentials: true, maxAge: 600 },
      },
    ],
  });
  const route = config.routes[0];
  if (!route) throw new Error('no route');
  const compiled = route.policies[0]?.config as Parameters<typeof corsPolicy.create>[0];
  const handler = await corsPolicy.create(compiled, {} as PolicyRuntime, undefined, 'routes[0].cors');
  const hono = honoCors({
    origin: ORIGINS,
    exposeHeaders: ['x-request-id'],
    credentials: true,
    maxAge: 600,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  });

  const actual = new Request('http://gw.test/x', { headers: { origin: ORIGIN } });
  const preflight = new Request('http://gw.test/x', {
    method: 'OPTIONS',
    headers: { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
  });
  const exchangeFor = (request: Request) =>
    new RouteExchange(request, new URL(request.url), 'gw.test', '/x', route, {}, 'id', '', { waitUntil() {} }, new Headers());
  const actualExchange = exchangeFor(actual);
  const preflightExchange = exchangeFor(preflight);
  const inner = (): Promise<Response> => Promise.resolve(new Response('ok'));

  const rows: Record<string, { actual: () => Promise<Response>; preflight: () => Promise<Response> }> = {
    'portico cors': {
      actual: () => handler(actualExchange, inner),
      preflight: () => handler(preflightExchange, inner),
    },
    'hono/cors + Context': {
      actual: () => honoOnce(actual),
      preflight: () => honoOnce(preflight),
    },
    'inner only': { actual: inner, preflight: inner },
  };
  async function honoOnce(request: Request): Promise<Response> {
    const c = new Context(request);
    const out = await hono(c, async () => {
      c.res = new Response('ok');
    });
    return out instanceof Response ? out : c.res;
  }

  // Check the inputs: the two contestants give the same answer.
  for (const name of ['portico cors', 'hono/cors + Context']) {
    const row = rows[name];
    if (!row) continue;
    const a = await row.actual();
    const p = await row.preflight();
    const vary = (a.headers.get('vary') ?? '').toLowerCase();
    if (a.headers.get('access-control-allow-origin') !== ORIGIN || !vary.includes('origin')) {
      throw new Error(`${name}: unexpected actual-request headers ${JSON.stringify([...a.headers])}`);
    }
    if (p.status !== 204 || p.headers.get('access-control-allow-origin') !== ORIGIN) {
      throw new Error(`${name}: unexpected preflight ${p.status} ${JSON.stringify([...p.headers])}`);
    }
  }

  const results: { row: string; actual: number; preflight: number }[] = [];
  for (const [row, fns] of Object.entries(rows)) {
    results.push({ row, actual: await timeNs(fns.actual), preflight: await timeNs(fns.preflight) });
  }
  const base = results.find((r) => r.row === 'portico cors');
  console.log(`Node ${process.versions.node} · ns per request (median)\n`);
  console.log('| row | actual request | preflight |\n| --- | ---: | ---: |');
  for (const r of results) {
    const ratio = (x: number, y: number | undefined) => (y ? ` (${(x / y).toFixed(2)}×)` : '');
    console.log(
      `| ${r.row} | ${r.actual.toFixed(0)}${ratio(r.actual, base?.actual)} | ${r.preflight.toFixed(0)}${ratio(r.preflight, base?.preflight)} |`,
    );
  }
}

await main();
