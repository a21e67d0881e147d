/**
 * WASI-HTTP target: a `wasi:http/proxy` component built by componentize-js, whose engine
 * (StarlingMonkey) exports `wasi:http/incoming-handler` and turns each incoming request into a
 * `fetch` event. Outgoing `fetch` goes through `wasi:http/outgoing-handler`. There is no
 * `WebAssembly` global, so the hot path is the wasm2js build; no KV, cache or geo on this host.
 */
import compiled from 'portico:config';
import hotNamespace from 'portico:hot-wasm2js';
import { createGateway, fetchInit, type ForwardFn, type RequestContext } from '../../core/index.ts';
import { hotFromWasm2js } from '../../core/hot/index.ts';

/** StarlingMonkey's FetchEvent (only what is used). */
interface WasiFetchEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
  waitUntil?(promise: Promise<unknown>): void;
}

/**
 * StarlingMonkey (componentize-js 0.19.3) traps the whole instance when the incoming request's
 * own `signal` is touched, and core listens on it to cancel the origin request; `new Request(r)`
 * traps too when `r` has a body. A Request built from the parts gets a working signal and takes
 * over the body stream unread.
 */
function withWorkingSignal(incoming: Request): Request {
  const hasBody = incoming.method !== 'GET' && incoming.method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method: incoming.method, headers: incoming.headers };
  if (hasBody && incoming.body) {
    init.body = incoming.body;
    init.duplex = 'half';
  }
  return new Request(incoming.url, init);
}

/**
 * Forwarding without handing the abort signal to the host: jco serve's preview2-shim crashes the
 * server (`pollStateCheck` reads a dropped pollable) when an in-flight outgoing request is
 * cancelled. So a timeout settles the race here and the outgoing request is left to end with the
 * instance, which jco's `--isolate-requests instance` drops after the response.
 */
const forward: ForwardFn = (url, init) => {
  const detached = { ...fetchInit(init), signal: null };
  const aborted = new Promise<never>((_, reject) => {
    if (init.signal.aborted) reject(init.signal.reason);
    init.signal.addEventListener('abort', () => reject(init.signal.reason), { once: true });
  });
  return Promise.race([fetch(new Request(url, detached)), aborted]);
};

const gateway = createGateway(compiled, {
  forward,
  now: Date.now,
  hot: hotFromWasm2js(hotNamespace as Parameters<typeof hotFromWasm2js>[0]),
  log: (record) => console.log(JSON.stringify(record)),
});

addEventListener('fetch', (event) => {
  const fetchEvent = event as unknown as WasiFetchEvent;
  const context: RequestContext = {
    waitUntil: (promise) => {
      if (fetchEvent.waitUntil) fetchEvent.waitUntil(promise);
      else promise.catch((err: unknown) => console.error('portico: background task failed', String(err)));
    },
  };
  fetchEvent.respondWith(gateway.fetch(withWorkingSignal(fetchEvent.request), context));
});
