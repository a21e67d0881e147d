/**
 * The Node target: an HTTP server around the gateway, with undici forwarding, the Wasm hot path
 * and a graceful drain. Used by `portico dev` and by the bundled `dist/node/server.mjs`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HotExports } from '../../core/hot/index.ts';
import { nodeCacheStore } from './redis-cache.ts';
import { createGateway, timestampedLog, type Gateway } from '../../core/gateway.ts';
import type { CompiledConfig } from '../../core/config/index.ts';
import type { LogRecord } from '../../core/capabilities.ts';
import { relayedBody } from '../../core/upstream/index.ts';
import { nodeRequest, NodeRequestError, type NodeRequest } from './request.ts';
import { createNodeForward } from './forward.ts';
import { nodeCounterStore } from './redis-store.ts';
import { stdoutLineLog } from './log.ts';
import { writeResponse } from './respond.ts';
import { writeRelayed } from './relay.ts';
import type { DispatchedResponse } from './dispatched-response.ts';
import { writeStored } from './stored.ts';
import { tapCachedBody } from './cache-tap.ts';
import { HttpProblem } from '../../core/errors.ts';
import { HOP_BY_HOP_HEADERS } from '../../core/http/headers.ts';
import { newRequestId } from '../../core/http/request-id.ts';
import { problemResponse, type ProblemInput } from '../../core/http/problem.ts';
import { nodeHeaderList, nodeHeaders } from './headers.ts';
import { loadNodeGeo } from './geo.ts';

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
  /**
   * How long a drain keeps idle kept-alive connections open, in milliseconds, default 5000
   * (capped by drainTimeoutMs): a load balancer probing /ready on one of them gets 503 and the
   * connection closed after it.
   */
  drainGraceMs?: number;
  /** Where `{ "env": NAME }` secrets are read, default process.env. */
  secrets?: (name: string) => string | undefined;
  /**
   * Longest time for a client to send its request head, in milliseconds, default 60000 (Node's).
   * Past it the client gets 408 problem+json and the connection is closed.
   */
  headersTimeoutMs?: number;
  /** Most connections to one origin, default 256; requests beyond wait, within their route's timeout. */
  connectionsPerOrigin?: number;
  /**
   * Longest silence of a client in the middle of its request body, in milliseconds, default
   * 30000. Past it the request is answered 408 (when no answer has begun) and its connection and
   * the origin connection carrying the body are closed: a slow upload that keeps sending is
   * never cut, one that stops cannot hold an origin connection.
   */
  requestBodyIdleTimeoutMs?: number;
  /**
   * Longest time a response may wait for the client to take more of it, in milliseconds,
   * default 30000. Past it the client connection is broken and the origin's body cancelled, so a
   * client that never reads cannot hold an origin connection.
   */
  writeStallTimeoutMs?: number;
  /**
   * Whether origin bodies of routes whose policies leave bodies alone are piped from undici to
   * the client natively, without web streams (relay.ts), default true. Off, every body goes
   * through a web stream, as on the other runtimes.
   */
  nativeRelay?: boolean;
}

export interface NodeServer {
  gateway: Gateway;
  server: Server;
  /** The address actually bound, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** Requests currently being handled. */
  inFlight(): number;
  /**
   * Stops accepting, keeps answering on open connections for drainGraceMs (/ready says 503, each
   * answer closes its connection), lets requests in flight finish (up to drainTimeoutMs), then closes.
   */
  drain(): Promise<{ drained: boolean; abandoned: number }>;
}

/** `\` as `/` in the path of a request target (not in its query), as a WHATWG URL parser reads an http URL. */
export function backslashesAsSlashes(target: string): string {
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  return path.replaceAll('\\', '/') + (query === -1 ? '' : target.slice(query));
}

/** An absolute-form request target (RFC 9112 §3.2.2): scheme, authority, and the rest. */
const ABSOLUTE_FORM = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;

/**
 * Rewrites an absolute-form target to origin-form in place, as RFC 9112 §3.2.2 has a server do:
 * the target's authority replaces the Host header, and the scheme is NOT taken from it (the
 * connection's scheme is what X-Forwarded-Proto reports). Returns a reason when the target
 * cannot be taken (a scheme other than http(s), userinfo, no host).
 */
export function originFormInPlace(req: IncomingMessage): string | null {
  const target = req.url ?? '';
  if (target.startsWith('/') || target === '*') return null;
  const m = ABSOLUTE_FORM.exec(target);
  if (!m) return null;
  const scheme = (m[1] ?? '').toLowerCase();
  const authority = m[2] ?? '';
  if (scheme !== 'http' && scheme !== 'https') return `a request target with the scheme "${scheme}" cannot be served`;
  if (authority === '' || authority.includes('@')) return 'the authority of the request target is malformed';
  const rest = m[3] ?? '';
  req.headers.host = authority.toLowerCase();
  req.url = rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
  return null;
}

/** How many Host header lines the request carried (node:http keeps only the first). */
function hostLines(req: IncomingMessage): number {
  let n = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).length === 4 && raw[i]?.toLowerCase() === 'host') n++;
  return n;
}

/** Writes a problem+json answer straight to Node's response (for refusals made before the gateway). */
export function writeProblem(res: ServerResponse, problem: ProblemInput, method = 'GET'): Promise<void> {
  const response = problemResponse(problem, newRequestId(), method);
  const headers = nodeHeaders(response.headers);
  return response.text().then((body) => {
    if (res.headersSent || res.destroyed) return;
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(response.status, headers);
    res.end(body);
  });
}

/**
 * Calls `onIdle` once when the client sends no byte of its request body for `idleMs`. Silence
 * while the body waits on our side (the origin not taking it: the stream paused or holding data)
 * does not count. The check runs every quarter of `idleMs`, on the socket's byte count, so the
 * body stream itself is left alone.
 */
function watchBodyIdle(req: IncomingMessage, res: ServerResponse, idleMs: number, onIdle: () => void): void {
  const socket = req.socket;
  let seen = socket.bytesRead;
  let lastAt = Date.now();
  const timer = setInterval(
    () => {
      if (req.complete || res.destroyed || socket.destroyed) return clearInterval(timer);
      const bytes = socket.bytesRead;
      if (bytes !== seen || req.readableFlowing === false || req.readableLength > 0) {
        seen = bytes;
        lastAt = Date.now();
      } else if (Date.now() - lastAt >= idleMs) {
        clearInterval(timer);
        onIdle();
      }
    },
    Math.max(10, Math.floor(idleMs / 4)),
  );
  timer.unref();
  res.once('close', () => clearInterval(timer));
}

/**
 * The problem for an error of Node's HTTP parser (the `clientError` event), by Node's own
 * mapping of those errors to statuses.
 */
function parserProblem(err: NodeJS.ErrnoException): ProblemInput {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return { code: 'ERR_HEADERS_TOO_LARGE', detail: 'The request head is larger than the server accepts.' };
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { code: 'ERR_REQUEST_TIMEOUT', detail: 'The request head did not arrive in time.' };
  }
  return { code: 'ERR_BAD_REQUEST', detail: 'The request is not valid HTTP/1.1.' };
}

/** Status line reason phrases of the answers written raw (clientError). */
const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * Answers an error of Node's HTTP parser with a whole raw HTTP/1.1 problem+json response (no
 * ServerResponse exists for a request that could not be parsed), then closes the connection. A
 * socket that cannot be written to, or one whose answer had begun, is only closed, as Node does.
 */
async function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, log: (r: LogRecord) => void): Promise<void> {
  const begun = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || begun) {
    socket.destroy();
    return;
  }
  const problem = parserProblem(err);
  const requestId = newRequestId();
  const response = problemResponse(problem, requestId);
  const body = await response.text();
  log({
    level: 'info',
    msg: 'request refused by the HTTP parser',
    requestId,
    status: response.status,
    code: problem.code,
    cause: err.code ?? err.message,
  });
  if (!socket.writable) return void socket.destroy();
  let head = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? 'Error'}\r\n`;
  response.headers.forEach((value, name) => {
    head += `${name}: ${value}\r\n`;
  });
  head += `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  socket.end(head + body);
}

/** An interim response's fields without the hop-by-hop ones (and those its Connection names). */
function interimHeaders(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const named = new Set<string>();
  for (const name in headers) {
    if (name.toLowerCase() !== 'connection') continue;
    const value = headers[name];
    for (const token of (Array.isArray(value) ? value.join(',') : (value ?? '')).split(','))
      named.add(token.trim().toLowerCase());
  }
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    const lower = name.toLowerCase();
    if (value !== undefined && !HOP_BY_HOP_HEADERS.has(lower) && !named.has(lower)) out[lower] = value;
  }
  return out;
}

/** Whether a request has a body (RFC 9112 §6.3: Transfer-Encoding, or a Content-Length above 0). */
function hasBody(incoming: IncomingMessage): boolean {
  const length = incoming.headers['content-length'];
  return incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Starts the gateway on Node. */
export async function startNodeServer(config: CompiledConfig, options: NodeServerOptions): Promise<NodeServer> {
  const forward = createNodeForward(
    options.connectionsPerOrigin === undefined ? {} : { connectionsPerOrigin: options.connectionsPerOrigin },
  );
  const bodyIdleMs = options.requestBodyIdleTimeoutMs ?? 30_000;
  const writeStallMs = options.writeStallTimeoutMs ?? 30_000;
  const nativeRelay = options.nativeRelay ?? true;
  const lineLog = options.log === undefined ? stdoutLineLog() : undefined;
  // Every record gets its time here, the adapter's own records (refusals before the gateway) too.
  const log = timestampedLog(options.log ?? lineLog!, Date.now);
  // The geo.mmdb database, read before anything connects: a missing or corrupt file stops the start.
  const geo = loadNodeGeo(config);
  // Shared rate-limit counters when the config names a Redis (stores.redis); see redis-store.ts.
  const counters = await nodeCounterStore(config, options.secrets ?? ((name) => process.env[name]), log);
  // The cache's Redis store, or the memory LRU with Redis purge fan-out (cacheStore + stores.redis);
  // none: core's memory LRU.
  const cache = await nodeCacheStore(config, options.secrets ?? ((name) => process.env[name]), log);
  const gateway = createGateway(config, {
    ...(counters || cache ? { stores: { ...(counters ? { counters } : {}), ...(cache ? { cache } : {}) } } : {}),
    forward,
    // Health checks run on timers here (a long-lived process), not on requests.
    timers: true,
    now: Date.now,
    hot: options.hot,
    log,
    secrets: options.secrets ?? ((name) => process.env[name]),
    ...(geo ? { geo } : {}),
  });
  // A missing secret or a policy that cannot start stops the server before it listens.
  await gateway.ready;
  const pending = new Set<Promise<unknown>>();

  /**
   * One request through the gateway and back to Node: the request is a NodeRequest (request.ts),
   * made without @hono/node-server's adapter, which cost a WHATWG Headers per request.
   */
  const listener = async (incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> => {
    let request: NodeRequest;
    try {
      request = nodeRequest(incoming, outgoing);
    } catch (err) {
      // A Host or request target that makes no URL: 400 problem+json, as every refusal.
      const code = err instanceof NodeRequestError ? err.code : 'ERR_BAD_REQUEST_PATH';
      const message = err instanceof Error ? err.message : String(err);
      log({ level: 'info', msg: 'request', method: incoming.method, status: 400, code, cause: message });
      outgoing.shouldKeepAlive = false;
      const detail = code === 'ERR_BAD_HOST' ? 'The Host header is missing or malformed.' : 'The request target is malformed.';
      return writeProblem(outgoing, { code, detail }, incoming.method);
    }
    const response = await gateway.fetch(request, {
      clientAddress: incoming.socket.remoteAddress ?? '',
      url: request.parsedUrl,
      // The body as Node has it: the forwarder sends it to the origin as it is, without a
      // WHATWG Request and its two stream conversions (see forward.ts).
      nativeBody: hasBody(incoming) ? incoming : null,
      nativeRelay,
      // The origin's 102 and 103 go on to the client before the final answer (other 1xx have
      // no API in node:http and are dropped); hop-by-hop fields stay behind.
      onInformational(status, headers) {
        if (outgoing.headersSent || outgoing.destroyed) return;
        if (status === 103) outgoing.writeEarlyHints(interimHeaders(headers));
        else if (status === 102) outgoing.writeProcessing();
      },
      // The response closing before it finished is the client going away. Listening here
      // instead of on `request.signal` spares a full Request per request.
      onClientGone(listener) {
        const onClose = (): void => {
          if (!outgoing.writableFinished) listener();
        };
        outgoing.once('close', onClose);
        const cut = cutListeners.get(outgoing);
        cut?.add(listener);
        return () => {
          outgoing.off('close', onClose);
          cut?.delete(listener);
        };
      },
      waitUntil(promise) {
        const p = promise.catch((err: unknown) => log({ level: 'error', msg: 'waitUntil task failed', cause: String(err) }));
        pending.add(p);
        void p.finally(() => pending.delete(p));
      },
    });
    const relayed = relayedBody(response);
    // cache: a miss's relayed body is collected for the store as it is written (cache-tap.ts).
    tapCachedBody(response);
    if (outgoing.headersSent || outgoing.destroyed) {
      // Answered already (408, see watchBodyIdle).
      if (relayed) (relayed.native as DispatchedResponse).destroy();
      else void response.body?.cancel().catch(() => {});
      return;
    }
    if (relayed) {
      writeRelayed(response.status, nodeHeaderList(response.headers), relayed, outgoing, {
        writeStallMs,
        onStall: () => logStall(request.method, incoming, response),
      });
      return;
    }
    // cache: a hit's stored bytes and headers, written at once (stored.ts).
    if (writeStored(response, outgoing)) return;
    // Every other response (streamed from an origin through a web stream, the gateway's own,
    // a cached one, or one without a body) goes through respond.ts: a body that is all here
    // goes out with its headers in one write.
    const onStall = (): void => logStall(request.method, incoming, response);
    writeResponse(response, outgoing, { writeStallMs, onStall }).catch((err: unknown) => {
      log({
        level: 'error',
        msg: 'response could not be written',
        requestId: response.headers.get('x-request-id'),
        method: request.method,
        path: incoming.url?.split('?')[0] ?? '',
        cause: err instanceof Error ? err.message : String(err),
      });
      outgoing.destroy();
    });
  };

  const logStall = (method: string, incoming: IncomingMessage, response: Response): void =>
    log({
      level: 'info',
      msg: 'client took no response data; connection broken',
      requestId: response.headers.get('x-request-id'),
      method,
      path: incoming.url?.split('?')[0] ?? '',
      code: 'ERR_CLIENT_CLOSED',
      writeStallMs,
    });

  /** Per request with a body: who to tell when watchBodyIdle cuts it (see onClientGone above). */
  const cutListeners = new WeakMap<ServerResponse, Set<(reason?: unknown) => void>>();
  const onBodyIdle = (req: IncomingMessage, res: ServerResponse): void => {
    const problem = new HttpProblem('ERR_REQUEST_TIMEOUT', `The request body sent nothing for ${bodyIdleMs} ms.`);
    res.shouldKeepAlive = false;
    const answered = res.headersSent ? Promise.resolve() : writeProblem(res, problem, req.method);
    void answered.then(() => {
      for (const listener of cutListeners.get(res) ?? []) listener(problem);
      // Nobody was forwarding the body yet (or an answer had begun): nothing else ends it.
      if (!res.writableFinished) req.destroy();
    });
  };

  let active = 0;
  let draining = false;
  const connections = new Set<Socket>();
  const headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
  const server = createServer(
    // Node checks the head timeout this often (its default is 30 s, longer than a short bound).
    {
      headersTimeout: headersTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headersTimeoutMs / 4))),
    },
    (req, res) => {
      active++;
      res.once('close', () => active--);
      // While draining, every answer closes its connection after it (see drain).
      if (draining) res.shouldKeepAlive = false;
      // RFC 9112 §3.2: a request with more than one Host line is a 400. node:http keeps the first.
      if (hostLines(req) > 1) {
        const detail = 'The request has more than one Host header.';
        log({ level: 'info', msg: 'request', method: req.method, status: 400, code: 'ERR_BAD_HOST', cause: detail });
        res.shouldKeepAlive = false;
        return void writeProblem(res, { code: 'ERR_BAD_HOST', detail }, req.method);
      }
      const refusedTarget = originFormInPlace(req);
      if (refusedTarget !== null) {
        log({
          level: 'info',
          msg: 'request',
          method: req.method,
          status: 400,
          code: 'ERR_BAD_REQUEST_PATH',
          cause: refusedTarget,
        });
        res.shouldKeepAlive = false;
        return void writeProblem(
          res,
          { code: 'ERR_BAD_REQUEST_PATH', detail: `The request target is refused: ${refusedTarget}.` },
          req.method,
        );
      }
      // Host names are case-insensitive (RFC 9110 §4.2.3); the adapter compares them as written.
      const host = req.headers.host;
      if (host) req.headers.host = host.toLowerCase();
      // The same request as on every other runtime: their WHATWG URL parsers read a raw "\" in
      // an http path as "/" before the gateway sees it (Node's adapter would refuse it instead).
      if (req.url?.includes('\\')) req.url = backslashesAsSlashes(req.url);
      if (hasBody(req)) {
        cutListeners.set(res, new Set());
        watchBodyIdle(req, res, bodyIdleMs, () => onBodyIdle(req, res));
      }
      void listener(req, res);
    },
  );
  // Keep-alive sockets stay open a little longer than typical load balancers' idle timeouts.
  server.keepAliveTimeout = 65_000;
  // Errors of Node's parser (400, 431, 408) and unknown expectations (417) answer problem+json
  // like every other refusal, instead of Node's bare responses.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => void answerClientError(err, socket, log));
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const expect = req.headers.expect ?? '';
    log({
      level: 'info',
      msg: 'request',
      method: req.method,
      status: 417,
      code: 'ERR_EXPECTATION_FAILED',
      cause: `expect: ${expect}`,
    });
    res.shouldKeepAlive = false;
    void writeProblem(
      res,
      { code: 'ERR_EXPECTATION_FAILED', detail: 'The only expectation this gateway meets is 100-continue.' },
      req.method,
    );
  });
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostText = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  /**
   * Draining: no new connection is accepted; the open ones are kept for drainGraceMs so that a
   * load balancer probing /ready over a kept-alive connection gets its 503; every answer made
   * while draining carries `Connection: close` and closes its connection. After the grace, idle
   * connections are closed; requests in flight get until drainTimeoutMs, then are cut.
   */
  async function drain(): Promise<{ drained: boolean; abandoned: number }> {
    gateway.setDraining(true);
    draining = true;
    const started = Date.now();
    const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    const graceEnd = started + Math.min(options.drainGraceMs ?? 5000, drainTimeoutMs);
    const deadline = started + drainTimeoutMs;
    // net.Server's close, not http.Server's: that one closes the idle connections at once too
    // (Node 19+), and their next probe of /ready would never be answered.
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
    for (;;) {
      const now = Date.now();
      if (now >= graceEnd) server.closeIdleConnections();
      if (active === 0 && (now >= graceEnd || connections.size === 0)) break;
      if (now >= deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const abandoned = active;
    if (abandoned > 0) server.closeAllConnections();
    server.closeIdleConnections();
    await Promise.allSettled([...pending]);
    await closed;
    // http.Server's own close, now a no-op for the listener, stops its connection checks.
    server.close();
    await forward.close();
    await counters?.close();
    await cache?.close();
    // What the OTLP exporter still holds goes out before the process ends.
    await gateway.observer.otlp?.flush();
    if (lineLog) {
      lineLog.flush();
      process.off('exit', lineLog.flush);
    }
    return { drained: abandoned === 0, abandoned };
  }

  return { gateway, server, url: `http://${hostText}:${address.port}`, inFlight: () => active, drain };
}
