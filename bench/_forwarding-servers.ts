/**
 * The servers of the forwarding benchmark, one per process:
 *   node --import tsx bench/_forwarding-servers.ts <kind> <port> [origin URL]
 * kinds:
 * - `origin`: answers every request, once its body has arrived, with the same 1 KiB JSON body,
 *   or 64 KiB for `/64k` and 1 MiB for `/1m` (the origin behind every proxy);
 * - `portico`: the Node target (`startNodeServer`) with one route `/*` to the origin that sets and
 *   removes a header each way, its JSON request log on (to stdout, which the benchmark reads and
 *   discards), as `portico dev` runs it; `portico-web` the same without the native relay; and a
 *   route `/secure/*` to the same origin that needs an ES256 JWT from an inline public key
 *   (given as JSON in `PORTICO_BENCH_JWK`), for the auth workload;
 * - `hono-fetch`: a Hono app on @hono/node-server that forwards with the global `fetch`: the
 *   Web-standard way of proxying on Node;
 * - `undici-stream`: node:http and `undici.stream()` piping the origin's body straight into the
 *   response: the fast path DESIGN.md describes, with no routing, no header work, no log.
 * Prints `ready <port>` on stdout when listening.
 */
import { createServer } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { stream as undiciStream } from 'undici';
import { compileConfig } from '../core/config/index.ts';
import { loadNodeHot } from '../targets/node/hot.ts';
import { startNodeServer } from '../targets/node/server.ts';

const [kind, portArg, origin = ''] = process.argv.slice(2);
const port = Number(portArg);
const HOST = '127.0.0.1';
const ready = (): void => void process.stdout.write(`ready ${port}\n`);

/** Hop-by-hop request headers a proxy must not forward (RFC 9110 §7.6.1), plus host. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

/** The origin's bodies by path: 1 KiB JSON for every path but these two. */
const LARGE: Record<string, number> = { '/64k': 64 * 1024, '/1m': 1024 * 1024 };

// A clean exit on SIGINT, so that `node --cpu-prof` writes a profile of the server.
process.once('SIGINT', () => process.exit(0));

if (kind === 'origin') {
  const body = JSON.stringify({
    items: Array.from({ length: 16 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b', 'c'] })),
  }).padEnd(1024, ' ');
  const large = Object.fromEntries(Object.entries(LARGE).map(([path, size]) => [path, Buffer.alloc(size, 'x')]));
  const server = createServer((req, res) => {
    // The answer comes once the request's body (if any) has all arrived.
    req.resume();
    req.once('end', () => {
      const big = large[req.url ?? ''];
      if (big) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.byteLength });
        res.end(big);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  // Idle sockets are kept longer than any proxy here keeps them (portico 10 s): under callgrind
  // (observe.ts --instructions) a socket can sit idle for seconds, and one the origin closed
  // first made a 502 when the proxy reused it.
  server.keepAliveTimeout = 60_000;
  server.listen(port, HOST, ready);
} else if (kind === 'portico' || kind === 'portico-web') {
  const jwk = process.env['PORTICO_BENCH_JWK'];
  // The route of the goal: header transforms both ways, the access log on (stdout, as `portico dev`).
  const transforms = {
    requestHeaders: { set: { 'x-gateway': 'portico' }, remove: ['x-debug'] },
    responseHeaders: { set: { 'x-served-by': 'portico' }, remove: ['x-powered-by'] },
  };
  const config = await compileConfig({
    origins: { o: { url: origin, region: 'local' } },
    ...(jwk ? { issuers: { bench: { keys: [JSON.parse(jwk)], algorithms: ['ES256'] } } } : {}),
    routes: [
      ...(jwk
        ? [{ match: { path: '/secure/*' }, upstream: 'o', jwt: { issuer: 'bench' }, rewrite: { stripPrefix: '/secure' } }]
        : []),
      { match: { path: '/*' }, upstream: 'o', ...transforms },
    ],
  });
  // portico-web: the same server with every origin body through web streams (no native relay).
  await startNodeServer(config, { port, host: HOST, hot: await loadNodeHot('wasm'), nativeRelay: kind === 'portico' });
  ready();
} else if (kind === 'hono-fetch') {
  const app = new Hono();
  app.all('*', (c) => {
    const headers = new Headers();
    for (const [name, value] of c.req.raw.headers) if (!HOP.has(name)) headers.set(name, value);
    const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? null : c.req.raw.body;
    return fetch(origin + new URL(c.req.url).pathname, {
      method: c.req.method,
      headers,
      body,
      ...(body ? { duplex: 'half' } : {}),
    } as RequestInit);
  });
  serve({ fetch: app.fetch, port, hostname: HOST }, ready);
} else if (kind === 'undici-stream') {
  createServer((req, res) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP.has(name)) headers[name] = value;
    undiciStream(
      origin + (req.url ?? '/'),
      {
        method: req.method as 'GET',
        headers,
        body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
        opaque: res,
      },
      ({ statusCode, headers: upstream, opaque }) => {
        const out = opaque as typeof res;
        for (const name of Object.keys(upstream)) if (HOP.has(name)) delete upstream[name];
        out.writeHead(statusCode, upstream as Record<string, string | string[]>);
        return out;
      },
    ).catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  }).listen(port, HOST, ready);
} else {
  throw new Error(`unknown server kind ${kind}`);
}
