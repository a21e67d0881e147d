/**
 * Helpers for end-to-end tests: raw HTTP requests (so hostile paths reach the gateway exactly as
 * written, which `fetch` would not allow) and small purpose-built origins.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/** Sends one request with the request-target exactly as given. */
export function rawRequest(
  base: string,
  target: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: init.method ?? 'GET', path: target, headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** An origin that accepts connections and resets them without answering. */
export async function resettingOrigin(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req) => req.socket.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** How a response ended for the client: `clean` only when the whole message arrived. */
export interface BodyOutcome {
  status: number;
  body: string;
  ended: 'clean' | 'broken';
  /** Milliseconds from sending the request to the end (clean or broken). */
  ms: number;
}

/**
 * GETs `path` and reads the body to its end, telling a complete message (`res.complete`) from a
 * broken connection: what tells a client, or a cache, that a body was cut short.
 */
export function readBodyOutcome(base: string, path: string, timeoutMs = 10_000): Promise<BodyOutcome> {
  const url = new URL(base);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: url.hostname, port: url.port, path, agent: false }, (res) => {
      let body = '';
      const done = (ended: 'clean' | 'broken') => resolve({ status: res.statusCode ?? 0, body, ended, ms: Date.now() - started });
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done(res.complete ? 'clean' : 'broken'));
      res.on('aborted', () => done('broken'));
      res.on('error', () => done('broken'));
    });
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`the gateway neither finished nor broke ${path} within ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end();
  });
}
