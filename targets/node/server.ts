/**
 * The Node target: an HTTP server around the gateway, with undici forwarding, the Wasm hot path
 * and a graceful drain. Used by `portico dev` and by the bundled `dist/node/server.mjs`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { HotExports } from '../../core/hot/index.ts';
import { createGateway, type Gateway } from '../../core/gateway.ts';
import type { CompiledConfig } from '../../core/config/index.ts';
import type { LogRecord } from '../../core/capabilities.ts';
import { isRelayedResponse } from '../../core/upstream/index.ts';
import { createNodeForward } from './forward.ts';
import { nodeCounterStore } from './redis-store.ts';
import { stdoutLineLog } from './log.ts';
import { writeResponse } from './respond.ts';
import { HttpProblem } from '../../core/errors.ts';
import { problemResponse } from '../../core/http/problem.ts';

export interface NodeServerOptions {
  /** TCP port; 0 picks a free one. Default 8787. */
  port?: number;
  /** Interface to listen on, default 127.0.0.1. */
  host?: string;
  /** The hot path (see loadNodeHot). */
  hot: HotExports;
  /** Log sink, default: one JSON line per record on stdout, written in batches (see log.ts). */
  log?: (record: LogRecord) => void;
  /** Longest wait for requests in flight when draining, in milliseconds, default 10000. */
  drainTimeoutMs?: number;
  /** Where `{ "env": NAME }` secrets are read, default process.env. */
  secrets?: (name: string) => string | undefined;
}

export interface NodeServer {
  gateway: Gateway;
  server: Server;
  /** The address actually bound, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** Requests currently being handled. */
  inFlight(): number;
  /** Stops accepting, lets requests in flight finish (up to drainTimeoutMs), then closes. */
  drain(): Promise<{ drained: boolean; abandoned: number }>;
}

/** `\` as `/` in the path of a request target (not in its query), as a WHATWG URL parser reads an http URL. */
export function backslashesAsSlashes(target: string): string {
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  return path.replaceAll('\\', '/') + (query === -1 ? '' : target.slice(query));
}

/** Whether a request has a body (RFC 9112 §6.3: Transfer-Encoding, or a Content-Length above 0). */
function hasBody(incoming: IncomingMessage): boolean {
  const length = incoming.headers['content-length'];
  return incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Starts the gateway on Node. */
export async function startNodeServer(config: CompiledConfig, options: NodeServerOptions): Promise<NodeServer> {
  const forward = createNodeForward();
  const lineLog = options.log === undefined ? stdoutLineLog() : undefined;
  const log = options.log ?? lineLog!;
  // Shared rate-limit counters when the config names a Redis (stores.redis); see redis-store.ts.
  const counters = await nodeCounterStore(config, options.secrets ?? ((name) => process.env[name]), log);
  const gateway = createGateway(config, {
    ...(counters ? { stores: { counters } } : {}),
    forward,
    now: Date.now,
    hot: options.hot,
    log,
    secrets: options.secrets ?? ((name) => process.env[name]),
  });
  // A missing secret or a policy that cannot start stops the server before it listens.
  await gateway.ready;
  const pending = new Set<Promise<unknown>>();

  const listener = getRequestListener(
    async (request, env) => {
      const { incoming, outgoing } = env as { incoming: IncomingMessage; outgoing: ServerResponse };
      const response = await gateway.fetch(request, {
        clientAddress: incoming.socket.remoteAddress ?? '',
        // The body as Node has it: the forwarder sends it to the origin as it is, without the
        // adapter's full Request and its two stream conversions (see forward.ts).
        nativeBody: hasBody(incoming) ? incoming : null,
        // The response closing before it finished is the client going away. Listening here
        // instead of on `request.signal` spares the adapter a full Request per request.
        onClientGone(listener) {
          const onClose = (): void => {
            if (!outgoing.writableFinished) listener();
          };
          outgoing.once('close', onClose);
          return () => outgoing.off('close', onClose);
        },
        waitUntil(promise) {
          const p = promise.catch((err: unknown) => log({ level: 'error', msg: 'waitUntil task failed', cause: String(err) }));
          pending.add(p);
          void p.finally(() => pending.delete(p));
        },
      });
      // A body streaming from an origin is written here rather than by the adapter (see
      // respond.ts), which is then told to leave it; the gateway's own responses, whose bodies
      // are in memory, go through the adapter's fast path.
      if (!isRelayedResponse(response)) return response;
      writeResponse(response, outgoing).catch((err: unknown) => {
        log({ level: 'error', msg: 'response could not be written', cause: err instanceof Error ? err.message : String(err) });
        outgoing.destroy();
      });
      return RESPONSE_ALREADY_SENT;
    },
    {
      // Requests Node's adapter refuses before the gateway sees them (a malformed Host or
      // request target) still get a problem+json answer.
      errorHandler: (err) => {
        const message = err instanceof Error ? err.message : '';
        const problem = /host/i.test(message)
          ? new HttpProblem('ERR_BAD_HOST', 'The Host header is missing or malformed.')
          : new HttpProblem('ERR_BAD_REQUEST_PATH', 'The request target is malformed.');
        log({ level: 'info', msg: 'request refused by the Node adapter', code: problem.code, cause: message });
        return problemResponse(problem, crypto.randomUUID());
      },
    },
  );

  let active = 0;
  const server = createServer((req, res) => {
    active++;
    res.once('close', () => active--);
    // Host names are case-insensitive (RFC 9110 §4.2.3); the adapter compares them as written.
    const host = req.headers.host;
    if (host) req.headers.host = host.toLowerCase();
    // The same request as on every other runtime: their WHATWG URL parsers read a raw "\" in
    // an http path as "/" before the gateway sees it (Node's adapter would refuse it instead).
    if (req.url?.includes('\\')) req.url = backslashesAsSlashes(req.url);
    void listener(req, res);
  });
  // Keep-alive sockets stay open a little longer than typical load balancers' idle timeouts.
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostText = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  async function drain(): Promise<{ drained: boolean; abandoned: number }> {
    gateway.setDraining(true);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = Date.now() + (options.drainTimeoutMs ?? 10_000);
    while (active > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      server.closeIdleConnections();
    }
    const abandoned = active;
    if (abandoned > 0) server.closeAllConnections();
    await Promise.allSettled([...pending]);
    await closed;
    await forward.close();
    await counters?.close();
    if (lineLog) {
      lineLog.flush();
      process.off('exit', lineLog.flush);
    }
    return { drained: abandoned === 0, abandoned };
  }

  return { gateway, server, url: `http://${hostText}:${address.port}`, inFlight: () => active, drain };
}
