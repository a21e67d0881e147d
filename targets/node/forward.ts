/**
 * Node's `forward` capability, on undici's dispatcher rather than the global `fetch`: measured
 * here, `fetch` proxies about 4× slower (DESIGN.md, "Forwarding speed on Node"). It also does not
 * decompress: the client gets the origin's bytes and Content-Encoding unchanged.
 */
import { Readable } from 'node:stream';
import { Agent, type request as undiciRequest } from 'undici';
import type { BodySource, ForwardFn, ForwardInit } from '../../core/capabilities.ts';
import { nodeHeaderList } from './headers.ts';
import { HeaderMap } from '../../core/http/header-map.ts';
import { BodylessResponse } from '../../core/http/bodyless-response.ts';
import { DispatchedResponse } from './dispatched-response.ts';
import { continueSkippingConnector } from './skip-continue.ts';

export interface NodeForwardOptions {
  /** Idle keep-alive sockets are closed after this many milliseconds, default 10000. */
  keepAliveTimeoutMs?: number;
  /** Most sockets per origin, default 256. */
  connectionsPerOrigin?: number;
}

/** Whether the stream has received its end (all its data may not have been read yet). */
function endReceived(body: Readable): boolean {
  return (body as { _readableState?: { ended?: unknown } })._readableState?.ended === true;
}

/**
 * A Node Readable as a BodySource: chunks the stream holds already are handed over at once,
 * otherwise the read waits for the next one, the end or the error.
 */
export function readableSource(body: Readable): BodySource {
  return {
    read() {
      const chunk = body.read() as Uint8Array | null;
      if (chunk !== null) return Promise.resolve({ done: false, value: chunk });
      // The end is known once the stream has taken its last byte, but 'end' (and readableEnded)
      // only come a tick after the read that finds it empty; answering now lets the response
      // be written whole, with its end, in one go. `_readableState.ended` has meant "EOF
      // received" since Node 0.10; without it, 'end' below still ends the body.
      if (body.readableEnded || (endReceived(body) && body.readableLength === 0)) {
        return Promise.resolve({ done: true, value: undefined });
      }
      if (body.errored) return Promise.reject(body.errored);
      if (body.destroyed) return Promise.reject(new Error('the origin body was closed before its end'));
      return new Promise((resolve, reject) => {
        const done = (): void => {
          body.off('readable', onReadable);
          body.off('end', onEnd);
          body.off('error', onError);
          body.off('close', onClose);
        };
        const onReadable = (): void => {
          const next = body.read() as Uint8Array | null;
          if (next === null) return; // the end: 'end' follows
          done();
          resolve({ done: false, value: next });
        };
        const onEnd = (): void => {
          done();
          resolve({ done: true, value: undefined });
        };
        const onError = (err: unknown): void => {
          done();
          reject(err);
        };
        const onClose = (): void => {
          done();
          reject(body.errored ?? new Error('the origin body was closed before its end'));
        };
        body.on('readable', onReadable);
        body.once('end', onEnd);
        body.once('error', onError);
        body.once('close', onClose);
      });
    },
    cancel(reason) {
      // Destroying emits 'error' (undici's body makes one up when given none), and nobody may be
      // listening when no read is pending: an unheard 'error' would take the process down.
      body.on('error', () => {});
      body.destroy(reason instanceof Error ? reason : undefined);
    },
  };
}

type UndiciResponse = Awaited<ReturnType<typeof undiciRequest>>;

/** Interim responses (not 100 Continue, which is the request body's business) to core's hook. */
function interimHook(
  hook: NonNullable<ForwardInit['onInformational']>,
): (status: number, headers: Record<string, string | string[]>) => void {
  return (status, headers) => {
    if (status !== 100 && status !== 101) hook(status, headers);
  };
}

/** The same for undici.request's onInfo. */
function interimTo(
  hook: NonNullable<ForwardInit['onInformational']>,
): (info: { statusCode: number; headers: Record<string, string | string[]> }) => void {
  const to = interimHook(hook);
  return (info) => to(info.statusCode, info.headers);
}

/** `http://host:port/path?q` as its origin and the rest; a URL without a path gets "/". */
export function originAndPath(url: string): { origin: string; path: string } {
  const authority = url.indexOf('//');
  const slash = authority === -1 ? -1 : url.indexOf('/', authority + 2);
  if (authority === -1 || slash === -1) {
    const parsed = new URL(url);
    return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
  }
  const query = url.indexOf('?', authority + 2);
  if (query !== -1 && query < slash) return { origin: url.slice(0, query), path: `/${url.slice(query)}` };
  return { origin: url.slice(0, slash), path: url.slice(slash) };
}

/**
 * undici's promise, rejected as soon as `signal` aborts. undici leaves a request that waits in
 * its queue for a free connection deaf to its signal until it is dispatched (measured with 7.30:
 * an aborted queued request never settled while the pool stayed busy), so the route's timeout
 * would not cover the wait for a connection. When undici dispatches it later it sees the signal
 * aborted and drops it; a response that still comes is discarded.
 */
function untilAborted(pending: Promise<UndiciResponse>, cancel: AbortLike): Promise<UndiciResponse> {
  if (cancel.aborted) {
    void pending.then(
      (r) => r.body.destroy(),
      () => {},
    );
    return Promise.reject(cancel.reason);
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      void pending.then(
        (r) => r.body.destroy(),
        () => {},
      );
      reject(cancel.reason);
    };
    cancel.once('abort', onAbort);
    pending.then(
      (r) => {
        cancel.removeListener('abort', onAbort);
        resolve(r);
      },
      (err: unknown) => {
        cancel.removeListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** What untilAborted listens on: core's Cancel, or an AbortSignal seen through an EventEmitter shape. */
interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  once(event: 'abort', listener: () => void): unknown;
  removeListener(event: 'abort', listener: () => void): unknown;
}

/** An AbortSignal in the shape of AbortLike (a forward called without core's Cancel). */
function signalAsAbortLike(signal: AbortSignal): AbortLike {
  return {
    get aborted() {
      return signal.aborted;
    },
    get reason() {
      return signal.reason;
    },
    once: (_event, listener) => signal.addEventListener('abort', listener, { once: true }),
    removeListener: (_event, listener) => signal.removeEventListener('abort', listener),
  };
}

/**
 * @example
 * const forward = createNodeForward();
 * await forward('http://127.0.0.1:9001/x', { method: 'GET', headers: new Headers(), body: null, redirect: 'manual', signal });
 */
export function createNodeForward(options: NodeForwardOptions = {}): ForwardFn & { close(): Promise<void> } {
  const agent = new Agent({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    connections: options.connectionsPerOrigin ?? 256,
    // An origin's unsolicited 100 Continue is skipped, not a broken response (skip-continue.ts).
    connect: continueSkippingConnector(),
  });
  const forward: ForwardFn = async (url, init) => {
    // Straight to the agent with the origin and path split from core's URL (which core built
    // from a parsed origin and a normalized path): undici.request would parse it again with a
    // WHATWG URL and copy the options, about 2-5 µs per request measured.
    const split = originAndPath(url);
    const options = {
      origin: split.origin,
      path: split.path,
      method: init.method as 'GET',
      headers: nodeHeaderList(init.headers),
      // The client's IncomingMessage when the Node adapter handed it over (init.body is then
      // never made); otherwise the web stream, turned back into a Node one.
      body:
        init.nativeBody instanceof Readable
          ? init.nativeBody
          : init.body
            ? Readable.fromWeb(init.body as import('node:stream/web').ReadableStream)
            : null,
    };
    // A route whose policies leave bodies alone, behind the Node server: undici's dispatch
    // handler API, with the body going from its callbacks to the ServerResponse (relay.ts).
    if (init.relay) {
      const exchange = new DispatchedResponse(
        init.cancel ?? signalAsAbortLike(init.signal),
        init.onInformational ? interimHook(init.onInformational) : undefined,
      );
      agent.dispatch(options, exchange);
      await exchange.head;
      const headers = exchange.headers as HeaderMap;
      if (init.method === 'HEAD' || exchange.status === 204 || exchange.status === 304) {
        exchange.drain();
        return new BodylessResponse(exchange.status, headers);
      }
      init.relay(exchange);
      return new BodylessResponse(exchange.status, headers);
    }
    const pending = agent.request({
      origin: options.origin,
      path: options.path,
      method: options.method,
      headers: options.headers,
      body: options.body,
      // Core's Cancel where given (no AbortSignal is made; undici takes its EventEmitter shape).
      signal: init.cancel ?? init.signal,
      onInfo: init.onInformational ? interimTo(init.onInformational) : undefined,
    }) as Promise<UndiciResponse>;
    const res = await untilAborted(pending, init.cancel ?? signalAsAbortLike(init.signal));
    // The origin's headers, translated once (header-map.ts): undici has parsed and checked them.
    const headers = HeaderMap.fromRecord(res.headers);
    const noBody = init.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
    if (noBody) {
      res.body.resume();
      return new BodylessResponse(res.statusCode, headers);
    }
    // The origin's body goes to the client as one stream, read straight from undici's
    // Readable: no Readable.toWeb, and no second stream for the idle timeout.
    return new Response(init.guardBody(readableSource(res.body)), { status: res.statusCode, headers });
  };
  return Object.assign(forward, { close: () => agent.close() });
}
