/**
 * Sends a matched request to its origins and turns what comes back (or fails to) into the
 * response for the client. Bodies are passed through as streams; nothing here reads them.
 */
import type { BodySource, ForwardFn, ForwardInit, RequestContext } from '../capabilities.ts';
import type { CompiledConfig, CompiledOrigin, CompiledRoute } from '../config/compile.ts';
import { HttpProblem } from '../errors.ts';
import { removeHopByHop } from '../http/headers.ts';

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
function bodyless(status: number, method: string): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

export interface ProxyInput {
  request: Request;
  route: CompiledRoute;
  /** Normalized path after rewrite, as the origin must receive it. */
  path: string;
  /** Raw query string including `?`, or "". */
  search: string;
  /** Outgoing request headers, already prepared (hop-by-hop removed, X-Forwarded-* set). */
  headers: Headers;
  /**
   * Told when the origin's body fails after the response has begun (the origin went silent
   * for longer than the timeout, or broke off): the client only sees its connection break, so
   * this is where operators hear of it.
   */
  onBodyError?: (error: unknown, timedOut: boolean) => void;
  /** The adapter's way of telling that the client went away, when it has one (else `request.signal`). */
  onClientGone?: RequestContext['onClientGone'];
  /** The request body in the adapter's own form, when it has one (see RequestContext.nativeBody). */
  nativeBody?: RequestContext['nativeBody'];
  /** The access log's fields: `origin` and `region` are set to the origin that answered (or was tried last). */
  logFields?: Record<string, unknown>;
  /** Told when an origin could not be reached and the next one of the list is tried. */
  onFailover?: (failed: CompiledOrigin, next: CompiledOrigin, error: unknown) => void;
  /**
   * The adapter writes relayed bodies itself and the route's policies leave bodies alone: the
   * forwarder is offered ForwardInit.relay (see relayedBody).
   */
  nativeRelay?: boolean;
}

function isTimeout(err: unknown): boolean {
  return (
    err instanceof Error && (err.name === 'TimeoutError' || (err.cause instanceof Error && err.cause.name === 'TimeoutError'))
  );
}

/**
 * Forwards to the route's origins in order. The next origin is tried only when the previous one
 * could not be reached and the request is a GET or a HEAD.
 * A timeout is final: the origin may still be working on the request.
 */
export async function proxyRequest(config: CompiledConfig, forward: ForwardFn, input: ProxyInput): Promise<Response> {
  const { request, route } = input;
  const method = request.method;
  // GET and HEAD requests have no body (a Request refuses one). For the others, an adapter may
  // hand over the body in its own form (see RequestContext.nativeBody); then `request.body` is
  // read only if the forwarder asks for it. On Node, reading it costs a full Request and two
  // stream conversions, and not reading it for GET and HEAD spares the Request too.
  const native = method === 'GET' || method === 'HEAD' ? null : input.nativeBody;
  // Without the adapter's own form the body is read now (GET and HEAD: none).
  const body = native === undefined ? request.body : null;
  const hasBody = native === undefined ? body !== null : native !== null;
  const origins = route.upstream.map((name) => config.origins[name]).filter((o): o is CompiledOrigin => o !== undefined);
  // Only GET and HEAD go on to the next origin. Whether a request "has a body" is not the same on
  // every runtime (workerd says null for a bodiless DELETE, Deno an empty stream), and a body a
  // failed attempt may have begun to read cannot be sent again.
  const replayable = method === 'GET' || method === 'HEAD';
  let lastError: unknown;
  let clientGone = false;
  /** The problem the adapter answered the client with when it closed (see RequestContext.onClientGone). */
  let goneWith: unknown;
  for (let attempt = 0; attempt < origins.length; attempt++) {
    const origin = origins[attempt] as CompiledOrigin;
    if (input.logFields) {
      input.logFields['origin'] = origin.name;
      input.logFields['region'] = origin.region;
    }
    const timeoutMs = route.timeoutMs ?? origin.timeoutMs;
    const url = origin.origin + origin.basePath + input.path + input.search;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(new DOMException(`origin did not answer within ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
    // A client that goes away cancels the origin request too.
    const onGone = (reason?: unknown): void => {
      clientGone = true;
      goneWith = reason;
      controller.abort(new DOMException('the client went away', 'AbortError'));
    };
    const stopListening = listenForClientGone(input, onGone);
    try {
      const init: ForwardInit = {
        method,
        headers: input.headers,
        get body() {
          // With the adapter's own form, made only if the forwarder asks for it.
          return native === undefined || native === null ? body : request.body;
        },
        redirect: 'manual',
        signal: controller.signal,
        guardBody(source) {
          const stream = guardedStream(source, timeoutMs, controller, input.onBodyError);
          guardedBodies.add(stream);
          return stream;
        },
      };
      if (hasBody) init.duplex = 'half';
      if (native !== undefined && native !== null) init.nativeBody = native;
      let relayed: unknown;
      if (input.nativeRelay) {
        init.relay = (body) => {
          relayed = body;
        };
      }
      const upstream = await forward(url, init);
      clearTimeout(timer);
      if (relayed !== undefined) return finishRelayed(upstream, relayed, timeoutMs, controller, input.onBodyError);
      return finishResponse(upstream, method, init.guardBody);
    } catch (err) {
      clearTimeout(timer);
      lastError = err;
      if (controller.signal.aborted && isTimeout(controller.signal.reason)) {
        throw new HttpProblem('ERR_UPSTREAM_TIMEOUT', `The origin did not answer within ${timeoutMs} ms.`, {
          cause: err,
        });
      }
      // Not a failure of the gateway or the origin: its own code, 499 in the access log as
      // nginx writes it, at level info (nobody is left to receive the answer).
      if (clientGone) {
        if (goneWith instanceof HttpProblem) throw goneWith;
        throw new HttpProblem('ERR_CLIENT_CLOSED', 'The client closed the connection before the answer.', { cause: err });
      }
      if (!replayable) break;
      const next = origins[attempt + 1];
      if (next) input.onFailover?.(origin, next, err);
    } finally {
      stopListening();
    }
  }
  throw new HttpProblem('ERR_UPSTREAM_UNREACHABLE', 'The origin could not be reached.', { cause: lastError });
}

/**
 * Calls `onGone` when the client goes away: through the adapter's onClientGone when it has one,
 * otherwise through `request.signal`. Returns the listener's removal.
 */
function listenForClientGone(input: ProxyInput, onGone: (reason?: unknown) => void): () => void {
  if (input.onClientGone) return input.onClientGone(onGone);
  const signal = input.request.signal;
  if (!signal) return () => {};
  if (signal.aborted) {
    onGone();
    return () => {};
  }
  const onAbort = (): void => onGone();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function finishResponse(upstream: Response, method: string, guard: (source: BodySource) => ReadableStream<Uint8Array>): Response {
  if (upstream.status < 200 || upstream.status > 599) {
    throw new HttpProblem('ERR_UPSTREAM_UNREACHABLE', 'The origin sent an invalid response.');
  }
  const headers = new Headers(upstream.headers);
  removeHopByHop(headers);
  const body = bodyless(upstream.status, method) ? null : upstream.body;
  if (body === null && upstream.body) void upstream.body.cancel().catch(() => {});
  // A body the forward built with guardBody is guarded already.
  const streamed = body === null ? null : guardedBodies.has(body) ? body : guard(body.getReader());
  const response = new Response(streamed, { status: upstream.status, statusText: upstream.statusText, headers });
  if (streamed !== null) relayedResponses.add(response);
  return response;
}

/** Responses whose body streams from an origin (see isRelayedResponse). */
const relayedResponses = new WeakSet<Response>();

/** An origin body the forwarder handed over in its own form (ForwardInit.relay), for the adapter to write. */
export interface RelayedBody {
  /** The body as the forwarder has it (Node: undici's Readable). */
  readonly native: unknown;
  /** Longest silence of the origin while the client waits for more, in milliseconds (the route's timeout). */
  readonly idleMs: number;
  /**
   * The adapter tells core the body failed after the response began (`timedOut`: the origin
   * stayed silent for idleMs); core logs it, as for a streamed body, and aborts the exchange.
   * Not to be called when the client went away.
   */
  failed(error: unknown, timedOut: boolean): void;
}

const relayedBodies = new WeakMap<Response, RelayedBody>();

/**
 * The origin body beside a response of proxyRequest whose forwarder relayed it natively (its
 * `body` is then null), or undefined. Only an adapter that set RequestContext.nativeRelay gets
 * such responses, and it must write (or drop) the body.
 */
export function relayedBody(response: Response): RelayedBody | undefined {
  return relayedBodies.get(response);
}

function finishRelayed(
  upstream: Response,
  native: unknown,
  idleMs: number,
  exchange: AbortController,
  onBodyError: ProxyInput['onBodyError'],
): Response {
  if (upstream.status < 200 || upstream.status > 599) {
    throw new HttpProblem('ERR_UPSTREAM_UNREACHABLE', 'The origin sent an invalid response.');
  }
  // The forwarder's own Response, with its body beside it: its headers are edited in place.
  removeHopByHop(upstream.headers);
  relayedBodies.set(upstream, {
    native,
    idleMs,
    failed(error, timedOut) {
      if (timedOut) exchange.abort(error);
      if (timedOut || !exchange.signal.aborted) onBodyError?.(error, timedOut);
    },
  });
  relayedResponses.add(upstream);
  return upstream;
}

/**
 * Whether `response` came from proxyRequest with a body streaming from an origin: a body that
 * can still fail after the response has begun, which an adapter must then write so that the
 * failure breaks the client connection. Every other response of the gateway has its body in
 * memory already.
 */
export function isRelayedResponse(response: Response): boolean {
  return relayedResponses.has(response);
}

/** The streams made by guardBody (see ForwardInit), which finishResponse passes on as they are. */
const guardedBodies = new WeakSet<ReadableStream<Uint8Array>>();

const idleError = (idleMs: number): DOMException => new DOMException(`origin sent no body data for ${idleMs} ms`, 'TimeoutError');

/**
 * The origin's body, failed when the origin sends nothing for `idleMs` while the client is
 * waiting for more: the clock runs only while a read of the origin is pending, which happens
 * when the one chunk this stream holds has been taken, so a slow client is not taken for a
 * stalled origin. On expiry the exchange with the origin is aborted and the body errors, which
 * the runtime turns into a broken client connection (the client never sees the truncated body
 * as complete; see test/runtimes/README.md for the hosts that do otherwise).
 *
 * One chunk is read ahead (highWaterMark 1), so that the first chunk is usually there when the
 * runtime starts writing the response and goes out with its headers. One timer serves many
 * reads: it is armed by the first read that finds none, and when it fires during a later read
 * it re-arms itself for the rest of that read's time.
 */
function guardedStream(
  source: BodySource,
  idleMs: number,
  exchange: AbortController,
  onBodyError: ProxyInput['onBodyError'],
): ReadableStream<Uint8Array> {
  let cancelled = false;
  /** When the pending read of the origin began, or -1 when none is pending. */
  let waitingSince = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failPending: ((err: unknown) => void) | undefined;
  const stopTimer = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const onTimer = (): void => {
    timer = undefined;
    if (waitingSince < 0) return;
    const left = waitingSince + idleMs - Date.now();
    if (left > 0) timer = setTimeout(onTimer, left);
    else failPending?.(idleError(idleMs));
  };
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        waitingSince = Date.now();
        timer ??= setTimeout(onTimer, idleMs);
        return new Promise<void>((resolve) => {
          let settled = false;
          const settle = (): boolean => {
            if (settled) return false;
            settled = true;
            waitingSince = -1;
            failPending = undefined;
            resolve();
            return true;
          };
          const fail = (err: unknown): void => {
            if (!settle()) return;
            stopTimer();
            // The client went away (the runtime cancelled this stream, or the exchange was
            // aborted for it): not the origin's failure, and nobody is left to tell.
            if (cancelled) return;
            const timedOut = isTimeout(err);
            if (timedOut) {
              exchange.abort(err);
              void Promise.resolve(source.cancel(err)).catch(() => {});
            }
            if (timedOut || !exchange.signal.aborted) onBodyError?.(err, timedOut);
            controller.error(err);
          };
          failPending = fail;
          source.read().then((chunk) => {
            // After a cancel the stream takes nothing more (and a cancelled reader reads done).
            if (!settle() || cancelled) return;
            if (chunk.done) {
              stopTimer();
              controller.close();
            } else controller.enqueue(chunk.value);
          }, fail);
        });
      },
      cancel(reason) {
        cancelled = true;
        stopTimer();
        return source.cancel(reason);
      },
    },
    { highWaterMark: 1 },
  );
}
