/**
 * A small origin for the demo and the end-to-end tests: it answers with what it received, so
 * what the gateway forwarded can be observed. Query switches (read from the forwarded URL):
 * - `delay=MS`: wait before sending headers (to show 504);
 * - `drip=N`: send N chunks of `chunk` bytes, `gap` ms apart, after the JSON line.
 * Under `/catalog/` it sends `Cache-Control: public, s-maxage=30, stale-while-revalidate=60` and
 * `Surrogate-Key: catalog` (the demo's cached route).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoOrigin {
  region: string;
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
}

export async function startEchoOrigin(options: EchoOriginOptions): Promise<EchoOrigin> {
  const seen: EchoOrigin['seen'] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    seen.push({ method: req.method ?? '', url, headers: req.headers });
    const query = new URL(url, 'http://origin.invalid').searchParams;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const delay = Math.min(Number(query.get('delay') ?? 0) || 0, 60_000);
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
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    region: options.region,
    url: `http://127.0.0.1:${port}`,
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
