/**
 * Sends a matched request to its origins and turns what comes back (or fails to) into the
 * response for the client. Bodies are passed through as streams; nothing here reads them.
 */
import type { BodySource, ForwardFn, ForwardInit, GeoInfo, RequestContext } from '../capabilities.ts';
import { DEFAULT_RETRY, type CompiledConfig, type CompiledOrigin, type CompiledRoute } from '../config/compile.ts';
import { MAX_RETRY_AFTER_EJECT_MS, Upstreams, type OriginState } from './upstreams.ts';
import { Cancel } from './cancel.ts';
import type { ConcurrencyLimit } from './concurrency-limit.ts';
import { HttpProblem } from '../errors.ts';
import { removeHopByHop } from '../http/headers.ts';
import { retryAfterMs } from './retry-after.ts';

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
  /** Where the origin's interim (1xx) responses go, when the adapter can send them (RequestContext.onInformational). */
  onInformational?: RequestContext['onInformational'];
  /** The request body in the adapter's own form, when it has one (see RequestContext.nativeBody). */
  nativeBody?: RequestContext['nativeBody'];
  /**
   * The access log's fields: `origin` and `region` (the origin that answered, or was tried
   * last), `attempts` (each try: origin, region, outcome, status, ms), `retries`, `breaker`
   * (`panic`, `probe` or `skipped` when a breaker decided something), `shed`, `clientRegion`.
   */
  logFields?: Record<string, unknown>;
  /** Told when a try failed and the next one goes to another origin. */
  onFailover?: (failed: CompiledOrigin, next: CompiledOrigin, error: unknown) => void;
  /** Where the client is (platform geo, or the trusted header), for a pool's region choice. */
  geo?: GeoInfo;
  /** Breakers, latency and budgets; without it every request starts from nothing (tests, explain). */
  upstreams?: Upstreams;
  /** Milliseconds since the epoch, default Date.now. */
  now?: () => number;
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

/** One try, as the access log lists it. */
export interface Attempt {
  origin: string;
  region: string;
  outcome: 'ok' | 'status' | 'connect' | 'timeout' | 'shed' | 'open';
  status?: number;
  ms: number;
  /** When the attempt began (the `now` clock, epoch milliseconds), taken where it is made: its trace span starts here. */
  startMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Upstreams made per call when the caller keeps none (each request then starts from nothing). */
const fresh = new WeakMap<CompiledConfig, Upstreams>();

/**
 * Forwards to the route's origins in the order Upstreams.plan gives (the client's region first,
 * then by latency, without ejected origins), retrying within the route's rules:
 * - only methods the route's retry block lists (GET, HEAD, OPTIONS by default), and only when no
 *   body was handed to the origin on the failed try (a stream begun cannot be sent again);
 * - on connect failures and the listed statuses (502, 503, 504); a timeout goes on to another
 *   origin, and to the same one only when `retry.on` has "timeout";
 * - within `attempts`, the deadline, and the route's retry budget;
 * - a different origin at once, the same origin after a jittered backoff, or after its 503's
 *   Retry-After when that is short enough (else the 503 goes to the client as it came).
 */
export function proxyRequest(config: CompiledConfig, forward: ForwardFn, input: ProxyInput): Promise<Response> {
  const now = input.now ?? Date.now;
  const upstreams = input.upstreams ?? fresh.get(config) ?? new Upstreams(config, { now, log: () => {} });
  if (!input.upstreams && !fresh.has(config)) fresh.set(config, upstreams);
  const log = input.logFields ?? {};
  const routeState = upstreams.routeState(input.route);
  // Without load shedding on the route, straight to the origins (no async frame of its own).
  if (!routeState.limit) return tryOrigins(config, forward, input, upstreams, now, log);
  return shedding(config, forward, input, upstreams, now, log, routeState.limit);
}

/** proxyRequest on a route that sheds load: answered at once, or after the bounded queue. */
async function shedding(
  config: CompiledConfig,
  forward: ForwardFn,
  input: ProxyInput,
  upstreams: Upstreams,
  now: () => number,
  log: Record<string, unknown>,
  limit: ConcurrencyLimit,
): Promise<Response> {
  if (!(await limit.acquire())) {
    log['shed'] = true;
    const seconds = input.route.shed?.retryAfterSeconds ?? 1;
    throw new HttpProblem('ERR_OVERLOADED', 'The route has too many requests in flight; retry later.', {
      headers: { 'retry-after': String(seconds) },
    });
  }
  try {
    return await tryOrigins(config, forward, input, upstreams, now, log);
  } finally {
    limit.release();
  }
}

async function tryOrigins(
  _config: CompiledConfig,
  forward: ForwardFn,
  input: ProxyInput,
  upstreams: Upstreams,
  now: () => number,
  log: Record<string, unknown>,
): Promise<Response> {
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
  const retry = route.retry === undefined ? DEFAULT_RETRY : route.retry;
  // Whether a request "has a body" is not the same on every runtime (workerd says null for a
  // bodiless DELETE, Deno an empty stream), so the rule reads only the method and whether a body
  // was handed to the origin: GET and HEAD never hand one, others when the runtime gave one.
  const methodRetryable = retry?.methods.includes(method) === true;
  const bodyHanded = method !== 'GET' && method !== 'HEAD' && hasBody;
  const replayable = methodRetryable && !bodyHanded;
  const routeState = upstreams.routeState(route);
  routeState.budget?.deposit();
  const plan = upstreams.plan(route, input.geo);
  if (plan.clientRegion !== null) log['clientRegion'] = plan.clientRegion;
  const attempts: Attempt[] = [];
  log['attempts'] = attempts;
  for (const s of plan.skipped) {
    attempts.push({
      origin: s.state.origin.name,
      region: s.state.origin.region,
      outcome: s.reason === 'open' ? 'open' : 'shed',
      ms: 0,
      startMs: now(),
    });
  }
  if (plan.panic) log['breaker'] = 'panic';
  else if (plan.skipped.length > 0) log['breaker'] = 'skipped';
  const maxTries = retry === null ? 1 : retry.attempts;
  const startedAt = now();
  const deadline = retry?.deadlineMs ? startedAt + retry.deadlineMs : Number.POSITIVE_INFINITY;
  const order = plan.origins;
  /** Origins that failed in this request, by name (made at the first failure). */
  let failed: Set<string> | undefined;
  let tries = 0;
  let lastError: unknown;
  let lastWasTimeout = false;
  let clientGone = false;
  /** The problem the adapter answered the client with when it closed (see RequestContext.onClientGone). */
  let goneWith: unknown;
  let index = 0;
  let state: OriginState | undefined = order[0];
  let shedAll = true;
  while (state !== undefined) {
    const origin = state.origin;
    // An origin at its concurrency limit: a request waits in its bounded queue (origins[].queue,
    // never past the deadline), then, refused or timed out there, passes it over without a try.
    if (state.limit && !state.limit.tryAcquire()) {
      const waitStarted = now();
      const admitted = state.limit.settings.queue > 0 ? await waitForSlot(state.limit, deadline - waitStarted, input) : false;
      if (admitted === 'gone') {
        throw new HttpProblem('ERR_CLIENT_CLOSED', 'The client closed the connection before the answer.');
      }
      if (!admitted) {
        attempts.push({
          origin: origin.name,
          region: origin.region,
          outcome: 'shed',
          ms: now() - waitStarted,
          startMs: waitStarted,
        });
        index++;
        state = order[index];
        continue;
      }
    }
    const admission = state.breaker && plan.steered && !plan.panic ? state.breaker.admit() : 'yes';
    if (admission === 'no') {
      shedAll = false;
      // Its half-open probes are taken by other requests.
      state.limit?.release();
      attempts.push({ origin: origin.name, region: origin.region, outcome: 'open', ms: 0, startMs: now() });
      index++;
      state = order[index];
      continue;
    }
    shedAll = false;
    if (admission === 'probe') log['breaker'] = 'probe';
    tries++;
    log['origin'] = origin.name;
    log['region'] = origin.region;
    const left = deadline - now();
    const timeoutMs = Math.max(1, Math.min(retry?.perTryTimeoutMs ?? route.timeoutMs ?? origin.timeoutMs, left));
    const url = origin.origin + origin.basePath + input.path + input.search;
    const controller = new Cancel();
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
    const tryStarted = now();
    let outcome: Attempt['outcome'];
    let status: number | undefined;
    let response: Response | null = null;
    try {
      const init = new TryInit(method, input.headers, request, body, native, controller, timeoutMs, input.onBodyError);
      if (hasBody) init.duplex = 'half';
      if (input.onInformational) init.onInformational = input.onInformational;
      if (native !== undefined && native !== null) init.nativeBody = native;
      if (input.nativeRelay) init.relay = keepRelayed;
      const upstream = await forward(url, init);
      clearTimeout(timer);
      response =
        init.relayed !== undefined
          ? finishRelayed(upstream, init.relayed, timeoutMs, controller, input.onBodyError)
          : finishResponse(upstream, method, init);
      status = response.status;
      outcome = status >= 500 ? 'status' : 'ok';
      lastError = undefined;
      lastWasTimeout = false;
    } catch (err) {
      clearTimeout(timer);
      lastError = err;
      if (clientGone) {
        stopListening();
        state.limit?.release();
        state.breaker?.release(admission);
        // Not a failure of the gateway or the origin: its own code, 499 in the access log as
        // nginx writes it, at level info (nobody is left to receive the answer).
        if (goneWith instanceof HttpProblem) throw goneWith;
        throw new HttpProblem('ERR_CLIENT_CLOSED', 'The client closed the connection before the answer.', { cause: err });
      }
      lastWasTimeout = controller.aborted && isTimeout(controller.reason);
      outcome = lastWasTimeout ? 'timeout' : 'connect';
    } finally {
      stopListening();
    }
    const ms = now() - tryStarted;
    state.limit?.release();
    const attempt: Attempt = { origin: origin.name, region: origin.region, outcome, ms, startMs: tryStarted };
    if (status !== undefined) attempt.status = status;
    attempts.push(attempt);
    state.breaker?.record(outcome === 'ok', admission);
    if (outcome === 'ok' || outcome === 'status' || outcome === 'timeout') upstreams.observe(state, ms);
    if (outcome === 'ok') {
      log['retries'] = tries - 1;
      return response as Response;
    }
    // A 503 that asks for time keeps the origin out of other requests' order for that long.
    const waitMs = status === 503 && response ? retryAfterMs(response.headers.get('retry-after'), now()) : null;
    if (waitMs !== null && waitMs > 0) state.unavailableUntil = now() + Math.min(waitMs, MAX_RETRY_AFTER_EJECT_MS);
    failed ??= new Set();
    failed.add(origin.name);
    // What may follow: another try, if the rules allow it.
    const qualifies =
      outcome === 'connect'
        ? retry?.connect === true
        : outcome === 'timeout'
          ? true
          : retry?.statuses.includes(status ?? 0) === true;
    let next: OriginState | undefined;
    let pause = 0;
    if (replayable && qualifies && tries < maxTries && now() < deadline) {
      // A different origin first (at once); else the same one again, after a backoff.
      next = order.slice(index + 1).find((s) => !failed?.has(s.origin.name));
      if (next) index = order.indexOf(next);
      else if (retry?.sameOrigin && (outcome !== 'timeout' || retry.timeout)) {
        const again = state;
        const retryAfter = waitMs ?? 0;
        if (retryAfter <= (retry?.maxRetryAfterMs ?? 0)) {
          const backoff = Math.random() * Math.min(retry?.maxBackoffMs ?? 0, (retry?.backoffMs ?? 0) * 2 ** (tries - 1));
          pause = Math.max(backoff, retryAfter);
          if (now() + pause < deadline && (!plan.steered || !again.breaker || again.breaker.available() || plan.panic))
            next = again;
        }
      }
      if (next && !routeState.budget?.tryWithdraw()) {
        log['retryBudget'] = 'exhausted';
        next = undefined;
      }
    }
    if (!next) {
      log['retries'] = tries - 1;
      // The origin's own 5xx goes to the client as it came (with its Retry-After).
      if (response) return response;
      if (lastWasTimeout) {
        throw new HttpProblem('ERR_UPSTREAM_TIMEOUT', `The origin did not answer within ${timeoutMs} ms.`, { cause: lastError });
      }
      throw new HttpProblem('ERR_UPSTREAM_UNREACHABLE', 'The origin could not be reached.', { cause: lastError });
    }
    if (response) discard(response);
    if (next !== state) input.onFailover?.(origin, next.origin, lastError ?? new Error(`status ${status}`));
    if (pause > 0) await sleep(pause);
    state = next;
  }
  log['retries'] = Math.max(0, tries - 1);
  if (shedAll && attempts.length > 0) {
    log['shed'] = true;
    throw new HttpProblem('ERR_UPSTREAM_OVERLOADED', 'Every origin of the route has too many requests in flight; retry later.', {
      headers: { 'retry-after': '1' },
    });
  }
  throw new HttpProblem('ERR_UPSTREAM_UNREACHABLE', 'The origin could not be reached.', { cause: lastError });
}

/**
 * A slot of a full origin, from its queue: true when granted, false when the queue is full or
 * the wait ran out (its queueTimeoutMs, or `leftMs` of the deadline), 'gone' when the client went
 * away while waiting (its place in line is given up).
 */
async function waitForSlot(limit: ConcurrencyLimit, leftMs: number, input: ProxyInput): Promise<boolean | 'gone'> {
  const gone = new AbortController();
  const stopListening = listenForClientGone(input, () => gone.abort());
  try {
    const granted = await limit.acquire(leftMs, gone.signal);
    if (!gone.signal.aborted) return granted;
    if (granted) limit.release();
    return 'gone';
  } finally {
    stopListening();
  }
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

function finishResponse(upstream: Response, method: string, init: Pick<ForwardInit, 'guardBody'>): Response {
  if (upstream.status < 200 || upstream.status > 599) {
    throw new HttpProblem('ERR_UPSTREAM_UNREACHABLE', 'The origin sent an invalid response.');
  }
  const headers = new Headers(upstream.headers);
  removeHopByHop(headers);
  const body = bodyless(upstream.status, method) ? null : upstream.body;
  if (body === null && upstream.body) void upstream.body.cancel().catch(() => {});
  // A body the forward built with guardBody is guarded already.
  const streamed = body === null ? null : guardedBodies.has(body) ? body : init.guardBody(body.getReader());
  const response = new Response(streamed, { status: upstream.status, statusText: upstream.statusText, headers });
  if (streamed !== null) relayedResponses.add(response);
  return response;
}

/**
 * What one try hands the forwarder: an instance of a class, with nothing made per request but
 * the instance. Each of these kept every forwarded request alive through the young generation's
 * collections, until a full one (measured with `--trace-gc-nvp` on the Node target under `ab -k
 * -c8`, one `/*` route: 5.5 KB promoted to old space a GET on Node 20 and 6.2 KB on Node 24,
 * against 0.05-0.4 KB for node:http + undici.stream):
 * - an object literal with `get body()` and `get signal()` (V8 gives each such literal, whose
 *   getters are new closures every time, a hidden class of its own, in old space);
 * - `relay` as a new closure writing a variable of this function (on Node 24);
 * - the relayed body kept in a WeakMap keyed by the response (see RELAYED).
 * Without them, about 0.07 KB on both engines.
 */
class TryInit implements ForwardInit {
  readonly redirect = 'manual' as const;
  /** What the forwarder handed to `relay` (keepRelayed). */
  relayed: unknown = undefined;
  duplex?: 'half';
  nativeBody?: unknown;
  relay?: (native: unknown) => void;
  onInformational?: ForwardInit['onInformational'];

  constructor(
    readonly method: string,
    readonly headers: Headers,
    private readonly request: Request,
    private readonly ownBody: ReadableStream<Uint8Array> | null,
    private readonly native: unknown,
    readonly cancel: Cancel,
    private readonly idleMs: number,
    private readonly onBodyError: ProxyInput['onBodyError'],
  ) {}

  /** With the adapter's own form, made only if the forwarder asks for it. */
  get body(): ReadableStream<Uint8Array> | null {
    return this.native === undefined || this.native === null ? this.ownBody : this.request.body;
  }

  /** Made only for a forwarder that asks for a WHATWG signal (fetch); see cancel.ts. */
  get signal(): AbortSignal {
    return this.cancel.signal;
  }

  guardBody(source: BodySource): ReadableStream<Uint8Array> {
    const stream = guardedStream(source, this.idleMs, this.cancel, this.onBodyError);
    guardedBodies.add(stream);
    return stream;
  }
}

/** `relay` of a TryInit: one function for every try, not a closure made per try (see TryInit). */
function keepRelayed(this: TryInit, native: unknown): void {
  this.relayed = native;
}

/** Responses whose body streams from an origin through a web stream (see isRelayedResponse). */
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

/**
 * Where a relayed body sits: a property of the response under this symbol, not a WeakMap keyed
 * by the response. V8's young-generation collector kept a WeakMap's entries, and through them
 * the whole request, alive until the next full collection (see TryInit).
 */
const RELAYED = Symbol('portico.relayedBody');

type WithRelayed = Response & { [RELAYED]?: RelayedBody | undefined };

/**
 * Drops a response that will not be sent (its try is retried elsewhere). A relayed body is the
 * forwarder's own object: a Node Readable has destroy(), which frees the origin connection now
 * rather than at the forwarder's body timeout.
 */
function discard(response: Response): void {
  const relayed = (response as WithRelayed)[RELAYED];
  if (relayed) {
    (response as WithRelayed)[RELAYED] = undefined;
    const native = relayed.native as { destroy?: () => void; on?: (event: string, fn: () => void) => void } | null;
    if (native && typeof native.destroy === 'function') {
      // Destroying it emits an abort error; nobody reads this body, so nobody else listens.
      native.on?.('error', () => {});
      native.destroy();
    }
  }
  if (response.body) void response.body.cancel().catch(() => {});
}

/**
 * The origin body beside a response of proxyRequest whose forwarder relayed it natively (its
 * `body` is then null), or undefined. Only an adapter that set RequestContext.nativeRelay gets
 * such responses, and it must write (or drop) the body.
 */
export function relayedBody(response: Response): RelayedBody | undefined {
  return (response as WithRelayed)[RELAYED];
}

function finishRelayed(
  upstream: Response,
  native: unknown,
  idleMs: number,
  exchange: Cancel,
  onBodyError: ProxyInput['onBodyError'],
): Response {
  if (upstream.status < 200 || upstream.status > 599) {
    throw new HttpProblem('ERR_UPSTREAM_UNREACHABLE', 'The origin sent an invalid response.');
  }
  // The forwarder's own Response, with its body beside it: its headers are edited in place.
  removeHopByHop(upstream.headers);
  (upstream as WithRelayed)[RELAYED] = {
    native,
    idleMs,
    failed(error, timedOut) {
      if (timedOut) exchange.abort(error);
      if (timedOut || !exchange.aborted) onBodyError?.(error, timedOut);
    },
  };
  return upstream;
}

/**
 * Whether `response` came from proxyRequest with a body streaming from an origin: a body that
 * can still fail after the response has begun, which an adapter must then write so that the
 * failure breaks the client connection. Every other response of the gateway has its body in
 * memory already.
 */
export function isRelayedResponse(response: Response): boolean {
  // A natively relayed body is known by its property (no WeakSet entry per request).
  return (response as WithRelayed)[RELAYED] !== undefined || relayedResponses.has(response);
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
  exchange: Cancel,
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
            if (timedOut || !exchange.aborted) onBodyError?.(err, timedOut);
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
