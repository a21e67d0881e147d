/**
 * Writes an origin body that the forwarder relayed natively (ForwardInit.relay: undici's Readable,
 * no web stream) to Node's ServerResponse. Used for routes whose policies leave bodies alone; the
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
import type { Readable } from 'node:stream';
import type { RelayedBody } from '../../core/upstream/index.ts';
import type { WriteOptions } from './respond.ts';

/** Whether the stream has received its end (all its data may not have been read yet). */
function endReceived(body: Readable): boolean {
  return (body as { _readableState?: { ended?: unknown } })._readableState?.ended === true;
}

const ignore = (): void => {};

const idleError = (idleMs: number): DOMException => new DOMException(`origin sent no body data for ${idleMs} ms`, 'TimeoutError');

/**
 * @example
 * const relayed = relayedBody(response);
 * if (relayed) writeRelayed(response.status, nodeHeaders(response.headers), relayed, serverResponse, { writeStallMs: 30_000 });
 */
export function writeRelayed(
  status: number,
  headers: Record<string, string | string[]>,
  relayed: RelayedBody,
  out: ServerResponse,
  options: WriteOptions,
): void {
  const body = relayed.native as Readable;
  // Whatever happens below, an error of the origin's body never goes unheard (it would end the process).
  body.on('error', ignore);
  if (out.destroyed) {
    body.destroy();
    return;
  }
  // The usual case for small bodies: undici has taken the whole body with the headers.
  if (endReceived(body)) {
    const whole = body.read() as Buffer | null;
    if (body.readableLength === 0) {
      if (whole !== null) headers['content-length'] ??= String(whole.byteLength);
      out.writeHead(status, headers);
      out.end(whole ?? undefined);
      return;
    }
    if (whole !== null) body.unshift(whole);
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
    body.off('data', onData);
    body.off('end', onEnd);
    body.off('error', onError);
    body.off('close', onClose);
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
  const onData = (chunk: Buffer): void => {
    written = true;
    lastAt = Date.now();
    if (endReceived(body) && body.readableLength === 0) {
      finish();
      out.end(chunk);
      return;
    }
    if (!out.write(chunk)) {
      paused = true;
      body.pause();
      out.once('drain', onDrain);
      stallTimer = setTimeout(() => {
        options.onStall?.();
        finish();
        body.destroy();
        out.destroy();
      }, options.writeStallMs);
    }
  };
  const onEnd = (): void => {
    if (done) return;
    finish();
    out.end();
  };
  const onError = (err: unknown): void => {
    if (done) return;
    finish();
    // Not the origin's failure when the client went away first (the exchange is aborted then).
    if (!gone) relayed.failed(err, false);
    out.destroy();
  };
  const onClose = (): void => {
    // Destroyed without an error and before its end: cut short all the same.
    if (done) return;
    onError(new Error('the origin body was closed before its end'));
  };
  const onOutClose = (): void => {
    if (done || out.writableFinished) return;
    gone = true;
    finish();
    body.destroy();
  };
  body.on('data', onData);
  body.once('end', onEnd);
  body.once('error', onError);
  body.once('close', onClose);
  out.once('close', onOutClose);
  // A slow stream: its headers go at the next turn, on their own, if no data came by then.
  if (body.readableLength === 0) {
    setImmediate(() => {
      // (headersSent is true from writeHead on, before anything is written.)
      if (!written && !done && !out.destroyed) out.flushHeaders();
    });
  }
}
