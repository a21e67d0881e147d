/**
 * A small origin for the demo and the end-to-end tests: it answers with what it received, so
 * what the gateway forwarded can be observed. Query switches (read from the forwarded URL):
 * - `delay=MS`: wait before sending headers (to show 504);
 * - `drip=N`: send N chunks of `chunk` bytes, `gap` ms apart, after the JSON line.
 * Under `/catalog/` it sends `Cache-Control: public, s-maxage=30, stale-while-revalidate=60` and
 * `Surrogate-Key: catalog` (the demo's cached route).
 *
 * Region controls (to watch the gateway fail over), on the origin itself:
 * - `POST /_demo/down?mode=refuse|slow|503`: from now on every other request is reset without an
 *   answer (`refuse`), answered after `ms` milliseconds (`slow`, default 5000), or answered 503
 *   with `Retry-After: <retryAfter>` (`503`, default 1 second);
 * - `POST /_demo/up`: back to normal. `GET /_demo/state` says which.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How a region is down (see the region controls above). */
export type DownMode = { mode: 'refuse' } | { mode: 'slow'; ms: number } | { mode: '503'; retryAfter: number };

export interface EchoOrigin {
  region: string;
  /** Takes the region down (as `POST /_demo/down` does), or back up with null. */
  setDown(down: DownMode | null): void;
  url: string;
  port: number;
  server: Server;
  /** Requests seen so far (method and the exact request-target), oldest first. */
  seen: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

export interface EchoOriginOptions {
  region: string;
  /** Port, default 0 (any free port). */
  port?: number;
  /** Address to listen on, default 127.0.0.1 (the failover benchmark uses a network namespace's). */
  host?: string;
  /** Fixed delay before every answer, in milliseconds (a far region), default 0. */
  latencyMs?: number;
}

export async function startEchoOrigin(options: EchoOriginOptions): Promise<EchoOrigin> {
  const seen: EchoOrigin['seen'] = [];
  let down: DownMode | null = null;
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/_demo/')) {
      const control = new URL(url, 'http://origin.invalid');
      if (req.method === 'POST' && control.pathname === '/_demo/down') {
        const mode = control.searchParams.get('mode') ?? 'refuse';
        if (mode === 'slow') down = { mode, ms: Math.min(Number(control.searchParams.get('ms') ?? 5000) || 5000, 120_000) };
        else if (mode === '503')
          down = { mode, retryAfter: Math.min(Number(control.searchParams.get('retryAfter') ?? 1) || 0, 3600) };
        else if (mode === 'refuse') down = { mode };
        else {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('mode: expected refuse, slow or 503\n');
          return;
        }
      } else if (req.method === 'POST' && control.pathname === '/_demo/up') down = null;
      else if (control.pathname !== '/_demo/state') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('unknown control\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ region: options.region, down }) + '\n');
      return;
    }
    seen.push({ method: req.method ?? '', url, headers: req.headers });
    if (down?.mode === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (down?.mode === '503') {
      req.resume();
      res.writeHead(503, {
        'content-type': 'text/plain',
        'retry-after': String(down.retryAfter),
        'x-origin-region': options.region,
      });
      res.end('region down\n');
      return;
    }
    const extraDelay = (options.latencyMs ?? 0) + (down?.mode === 'slow' ? down.ms : 0);
    const query = new URL(url, 'http://origin.invalid').searchParams;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const delay = Math.min(Number(query.get('delay') ?? 0) || 0, 60_000) + extraDelay;
      const send = () => {
        if (res.destroyed) return;
        const body = Buffer.concat(chunks);
        const echo = JSON.stringify({
          region: options.region,
          method: req.method,
          path: url,
          headers: req.headers,
          bodyBytes: body.length,
          body: body.length <= 4096 ? body.toString('utf8') : undefined,
        });
        const drip = Math.min(Number(query.get('drip') ?? 0) || 0, 10_000);
        res.setHeader('x-origin-region', options.region);
        res.setHeader('x-origin-secret', 'origin-internal');
        // The demo's cached catalog (`/catalog/*`): shared freshness, a stale window and tags.
        if (url.startsWith('/catalog/')) {
          res.setHeader('cache-control', 'public, s-maxage=30, stale-while-revalidate=60');
          res.setHeader('surrogate-key', 'catalog');
        }
        if (drip === 0) {
          res.setHeader('content-type', 'application/json');
          res.end(echo);
          return;
        }
        const size = Math.min(Number(query.get('chunk') ?? 16384) || 16384, 1 << 20);
        const gap = Math.min(Number(query.get('gap') ?? 0) || 0, 10_000);
        res.setHeader('content-type', 'application/octet-stream');
        res.write(echo + '\n');
        let sent = 0;
        const block = Buffer.alloc(size, 0x61);
        const next = () => {
          if (res.destroyed) return;
          if (sent >= drip) return void res.end();
          sent++;
          const ok = res.write(block);
          if (gap > 0) setTimeout(next, gap);
          else if (ok) setImmediate(next);
          else res.once('drain', next);
        };
        if (gap > 0) setTimeout(next, gap);
        else next();
      };
      if (delay > 0) setTimeout(send, delay);
      else send();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    region: options.region,
    setDown(value) {
      down = value;
    },
    url: `http://${host}:${port}`,
    port,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
