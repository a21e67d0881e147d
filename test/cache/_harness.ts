/**
 * Real parts for the cache tests: a loopback origin that counts the requests it gets per path
 * and answers with the status, headers, body and delay the test sets for that path (or fails on
 * purpose), and a gateway from `createGateway` with the Node forwarder, a clock the test moves,
 * and the access-log records kept. `request` waits for the gateway's waitUntil work (stores,
 * background refreshes) before it returns.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CacheStore, LogRecord } from '../../core/capabilities.ts';
import type { Gateway } from '../../core/gateway.ts';
import { startTestGateway } from '../_gateway.ts';

export interface Reply {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | Buffer;
  /** Milliseconds before the headers are sent. */
  delayMs?: number;
  /** Destroys the connection without answering. */
  reset?: boolean;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface CountingOrigin {
  url: string;
  /** Replies by path (without query), or a function of the request. */
  replies: Map<string, Reply | ((req: IncomingMessage) => Reply)>;
  seen: SeenRequest[];
  /** Requests that reached `path` (query ignored). */
  count(path: string): number;
  close(): Promise<void>;
}

export async function startCountingOrigin(): Promise<CountingOrigin> {
  const seen: SeenRequest[] = [];
  const replies: CountingOrigin['replies'] = new Map();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const found = replies.get(path);
    const reply: Reply = (typeof found === 'function' ? found(req) : found) ?? {};
    if (reply.reset) {
      req.socket.destroy();
      return;
    }
    const send = () => {
      const headers: Record<string, string | string[]> = { 'content-type': 'text/plain' };
      for (const [k, v] of Object.entries(reply.headers ?? {})) if (v !== undefined) headers[k] = v;
      res.writeHead(reply.status ?? 200, headers);
      res.end(req.method === 'HEAD' ? undefined : (reply.body ?? `body of ${req.url}`));
    };
    if (reply.delayMs) setTimeout(send, reply.delayMs);
    else send();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    replies,
    seen,
    count: (path) => seen.filter((s) => (s.url.split('?')[0] ?? '') === path).length,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface CacheGateway {
  gateway: Gateway;
  logs: LogRecord[];
  clock: { now: number };
  advance(seconds: number): void;
  request(path: string, headers?: Record<string, string>, init?: RequestInit): Promise<Response>;
  /** The access-log record of the last request. */
  lastLog(): LogRecord | undefined;
  close(): Promise<void>;
}

export async function startCacheGateway(
  config: unknown,
  options: { secrets?: Record<string, string>; cache?: CacheStore; clock?: { now: number } } = {},
): Promise<CacheGateway> {
  const base = await startTestGateway(config, {
    clock: options.clock ?? { now: Date.parse('2026-12-01T12:00:00Z') },
    ...(options.secrets ? { secrets: options.secrets } : {}),
    ...(options.cache ? { stores: { cache: options.cache } } : {}),
  });
  const pending: Promise<unknown>[] = [];
  return {
    gateway: base.gateway,
    logs: base.logs,
    clock: base.clock,
    advance: (s) => {
      base.clock.now += s * 1000;
    },
    async request(path, headers = {}, init = {}) {
      const res = await base.dispatch(path, headers, init, pending);
      // The body first: a stored entry is written once the whole origin body was read.
      const body = await res.arrayBuffer();
      while (pending.length > 0) await Promise.allSettled(pending.splice(0));
      return new Response(res.status === 304 || res.status === 204 ? null : body, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    },
    lastLog: () => base.logs.filter((l) => l.msg === 'request').at(-1),
    close: base.close,
  };
}

/** A config with one cached route `/c/*` to the origin. */
export function cachedRoute(originUrl: string, cache: unknown = true, extra: Record<string, unknown> = {}) {
  return {
    origins: { o: { url: originUrl, region: 'local' } },
    routes: [{ match: { path: '/c/*' }, upstream: 'o', cache }],
    ...extra,
  };
}
