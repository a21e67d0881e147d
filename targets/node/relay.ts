/**
 * Writes an origin body that the forwarder relayed natively (ForwardInit.relay: a
 * DispatchedResponse fed by undici's dispatch callbacks, no stream at all) to Node's
 * ServerResponse. Used for routes whose policies leave bodies alone; the
 * others go through respond.ts. The semantics are respond.ts's:
 * - a body that is all here already goes out with its headers in one write, with its length;
 * - otherwise the headers go out at the next turn of the event loop at the latest, so a slow
 *   stream still gets them at once, then each chunk as it comes;
 * - a failure of the origin's body, or its silence for the route's timeout while the client waits
 *   for more, breaks the client connection (core is told, and logs it), so a truncated body never
 *   ends like a whole one;
 * - a client that takes nothing for `writeStallMs` is cut off, and a client that goes away
 *   drops the origin's body.
 */
import type { ServerResponse } from 'node:http';
import type { RelayedBody } from '../../core/upstream/index.ts';
import type { DispatchedResponse } from './dispatched-response.ts';
import { listHas } from './headers.ts';
import type { WriteOptions } from './respond.ts';

const idleError = (idleMs: number): DOMException => new DOMException(`origin sent no body data for ${idleMs} ms`, 'TimeoutError');

/**
 * @example
 * const relayed = relayedBody(response);
 * if (relayed) writeRelayed(response.status, nodeHeaderList(response.headers), relayed, serverResponse, { writeStallMs: 30_000 });
 */
export function writeRelayed(
  status: number,
  headers: string[],
  relayed: RelayedBody,
  out: ServerResponse,
  options: WriteOptions,
): void {
  const body = relayed.native as DispatchedResponse;
  if (out.destroyed) {
    body.destroy();
    return;
  }
  // The usual case for small bodies: undici has taken the whole body with the headers.
  if (body.ended) {
    const whole = body.takeBuffered();
    if (whole !== null && !listHas(headers, 'content-length')) headers.push('content-length', String(whole.byteLength));
    out.writeHead(status, headers);
    out.end(whole ?? undefined);
    return;
  }
  // Failed between its head and now: the response never begins as if it were whole.
  if (body.failure !== null) {
    relayed.failed(body.failure, false);
    out.destroy();
    return;
  }
  out.writeHead(status, headers);
  let written = false;
  let done = false;
  let gone = false;
  /** When the origin last sent data (or we last asked it for more after a pause). */
  let lastAt = Date.now();
  let paused = false;
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  const idleMs = relayed.idleMs;
  const finish = (): void => {
    done = true;
    clearTimeout(idleTimer);
    clearTimeout(stallTimer);
    out.off('close', onOutClose);
    out.off('drain', onDrain);
  };
  const onIdle = (): void => {
    if (done) return;
    const left = paused ? idleMs : lastAt + idleMs - Date.now();
    if (left > 0) {
      idleTimer = setTimeout(onIdle, left);
      return;
    }
    finish();
    relayed.failed(idleError(idleMs), true);
    body.destroy();
    out.destroy();
  };
  let idleTimer = setTimeout(onIdle, idleMs);
  const onDrain = (): void => {
    clearTimeout(stallTimer);
    paused = false;
    lastAt = Date.now();
    body.resume();
  };
  const onOutClose = (): void => {
    if (done || out.writableFinished) return;
    gone = true;
    finish();
    body.destroy();
  };
  out.once('close', onOutClose);
  const hadData = body.hasBuffered();
  body.attach({
    data(chunk) {
      if (done) return true;
      written = true;
      lastAt = Date.now();
      if (out.write(chunk)) return true;
      paused = true;
      out.once('drain', onDrain);
      stallTimer = setTimeout(() => {
        options.onStall?.();
        finish();
        body.destroy();
        out.destroy();
      }, options.writeStallMs);
      return false;
    },
    end() {
      if (done) return;
      finish();
      out.end();
    },
    error(err) {
      if (done) return;
      finish();
      // Not the origin's failure when the client went away first (the exchange is aborted then).
      if (!gone) relayed.failed(err, false);
      out.destroy();
    },
  });
  // A slow stream: its headers go at the next turn, on their own, if no data came by then.
  if (!hadData) {
    setImmediate(() => {
      // (headersSent is true from writeHead on, before anything is written.)
      if (!written && !done && !out.destroyed) out.flushHeaders();
    });
  }
}
