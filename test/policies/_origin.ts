/**
 * A loopback origin for the policy tests: it records every request it receives and answers 200
 * JSON `{ method, url, headers }`, with the response headers the request asks for in its query:
 * `?h=vary:Accept-Encoding&h=x-frame-options:SAMEORIGIN` (so a test can play an origin that sets
 * its own Vary, CORS or security headers).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordingOrigin {
  url: string;
  seen: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export async function startRecordingOrigin(): Promise<RecordingOrigin> {
  const seen: RecordingOrigin['seen'] = [];
  const server = createServer((req, res) => {
    req.resume();
    const url = req.url ?? '/';
    seen.push({ method: req.method ?? '', url, headers: req.headers });
    const query = new URL(url, 'http://origin.invalid').searchParams;
    for (const pair of query.getAll('h')) {
      const i = pair.indexOf(':');
      if (i > 0) res.setHeader(pair.slice(0, i), pair.slice(i + 1));
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url, headers: req.headers }));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
