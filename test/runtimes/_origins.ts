/**
 * Real loopback origins for the conformance suite, started by the test in this process so the
 * cases can read what the origin observed:
 * - echo: answers 200 with JSON { method, url, headers, body } of exactly what it received, and
 *   sets `x-origin-secret` and `x-origin-header` on its response (for response transforms);
 * - slow: accepts the request and answers only after `slowMs` (for 504);
 * - stream: sends a first chunk at once, then holds the response open until the test releases it
 *   (for streamed bodies); with `break=1` in the query it resets the connection 50 ms after the
 *   first chunk instead (an origin failing mid-body), with `break=now` as soon as it is sent;
 * - closed: a port that was bound and released, so connecting to it is refused (for 502).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the echo origin saw of one request. */
export interface Observed {
  method: string;
  /** The request-target exactly as received (path and query, percent-encoding untouched). */
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface StreamControl {
  /** Resolves when the origin has sent its first chunk of the next streamed response. */
  firstChunkSent(): Promise<void>;
  /** Lets the held streamed response finish. */
  release(): void;
}

export interface Origins {
  echo: string;
  /** Request-targets the echo origin received, in order (to tell a request never reached it). */
  echoSeen: string[];
  /** Serves CONFORMANCE_JWKS at any path, with Cache-Control max-age=300; counts its fetches. */
  jwks: string;
  jwksFetches(): number;
  /** Adds kid `conformance-jwks-2` (the same public key under a new kid): a key rotation. */
  rotateJwks(): void;
  slow: string;
  stream: string;
  closed: string;
  /** The first chunk the stream origin sends, and what follows on release. */
  streamFirst: string;
  streamRest: string;
  streamControl: StreamControl;
  close(): Promise<void>;
}

/** The JWKS of the conformance issuer `conformance-jwks` (the private key is in _cases.ts). */
export const CONFORMANCE_JWKS = {
  keys: [
    {
      kty: 'EC',
      crv: 'P-256',
      kid: 'conformance-jwks',
      alg: 'ES256',
      use: 'sig',
      x: '4S1_wILZbULw8-PRW3PNVUeimrvOXbwT1CeCkVZPkUI',
      y: '2tyS8WmnCxvxHzimE6rSkKH0qqUbVNavdM7akevPNfw',
    },
  ],
};

/** How long the slow origin waits before answering (well beyond the routes' timeoutMs). */
export const SLOW_ORIGIN_MS = 10_000;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  // Keep-alive connections from runtimes must not keep close() waiting.
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}` });
    });
  });
}

async function closedPortUrl(): Promise<string> {
  const { server, url } = await listen(() => {});
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

export async function startOrigins(): Promise<Origins> {
  const echoSeen: string[] = [];
  const echo = await listen((req, res) => {
    echoSeen.push(req.url ?? '');
    void readBody(req).then((body) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        headers[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
      }
      const observed: Observed = { method: req.method ?? '', url: req.url ?? '', headers, body };
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-origin-secret': 'origin-only',
        'x-origin-header': 'kept',
      });
      res.end(JSON.stringify(observed));
    });
  });

  const timers = new Set<NodeJS.Timeout>();
  const slow = await listen((req, res) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) res.end('too late');
    }, SLOW_ORIGIN_MS);
    timers.add(timer);
    req.resume();
    res.on('close', () => clearTimeout(timer));
  });

  const streamFirst = 'first chunk: sent before the origin finishes\n';
  const streamRest = 'rest: sent after the client saw the first chunk\n';
  let releaseHeld: (() => void) | null = null;
  const firstSentWaiters: Array<() => void> = [];
  const stream = await listen((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    if (req.url?.includes('break=1')) {
      // Fails mid-body: the first chunk, then the connection is reset.
      res.write(streamFirst, () => setTimeout(() => res.socket?.resetAndDestroy(), 50));
      return;
    }
    if (req.url?.includes('break=now')) {
      // Fails right after the first chunk, while the gateway may still be starting its response.
      res.write(streamFirst, () => res.socket?.resetAndDestroy());
      return;
    }
    res.write(streamFirst, () => {
      for (const w of firstSentWaiters.splice(0)) w();
    });
    let done = false;
    const finish = (): void => {
      if (done || res.destroyed) return;
      done = true;
      res.end(streamRest);
    };
    releaseHeld = finish;
    // Never hold forever: a test that fails midway must not leave the connection open.
    const guard = setTimeout(finish, 15_000);
    res.on('close', () => clearTimeout(guard));
  });

  let jwksFetches = 0;
  let jwksKeys = CONFORMANCE_JWKS.keys;
  const jwks = await listen((req, res) => {
    jwksFetches++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' });
    res.end(JSON.stringify({ keys: jwksKeys }));
  });

  const servers = [echo.server, slow.server, stream.server, jwks.server];
  return {
    echo: echo.url,
    echoSeen,
    jwks: jwks.url,
    jwksFetches: () => jwksFetches,
    rotateJwks: () => {
      jwksKeys = [
        ...CONFORMANCE_JWKS.keys,
        { ...(CONFORMANCE_JWKS.keys[0] as (typeof jwksKeys)[number]), kid: 'conformance-jwks-2' },
      ];
    },
    slow: slow.url,
    stream: stream.url,
    closed: await closedPortUrl(),
    streamFirst,
    streamRest,
    streamControl: {
      firstChunkSent: () => new Promise<void>((resolve) => firstSentWaiters.push(resolve)),
      release: () => releaseHeld?.(),
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}
