/**
 * Writes a Response whose body streams from an origin to Node's ServerResponse, in place of
 * @hono/node-server's writer (the gateway's own responses, with bodies in memory, still go
 * through the adapter's fast path).
 *
 * Why not the adapter's: with its lightweight Response installed, it writes every streamed
 * response's headers on their own and then the body, two system calls where one does; with the
 * global Response left alone, it reads a body's first chunks "without blocking" and takes a read
 * that fails there for the end of the body, so an origin that breaks off right after its first
 * chunk reached the client as a short but complete response (the conformance case "an origin
 * failing mid-body..." tries exactly that).
 *
 * Here: the headers wait for the first chunk until the next turn of the event loop (then they go
 * out alone, so a slow stream still gets its headers at once); when the end follows the first
 * chunk as quickly, the whole response, headers, body and end, is one write with a
 * Content-Length. Any failure of the body after that breaks the connection, so a truncated body
 * never ends like a whole one. A client that goes away cancels the body.
 */
import type { ServerResponse } from 'node:http';
import { nodeHeaders } from './headers.ts';

const NOT_YET = Symbol('not yet');
type ReadResult = ReadableStreamReadResult<Uint8Array>;

/** The read's result if it settles before the next turn of the event loop, else NOT_YET. */
function byNextTurn(read: Promise<ReadResult>): Promise<ReadResult | typeof NOT_YET> {
  return Promise.race([read, new Promise<typeof NOT_YET>((resolve) => setImmediate(resolve, NOT_YET))]);
}

export interface WriteOptions {
  /**
   * Longest wait for the client to take more of the response, in milliseconds: past it the
   * connection is broken (and the origin's body cancelled), so that a client that stops reading
   * cannot hold an origin connection.
   */
  writeStallMs: number;
  /** Told when a stalled client was cut off. */
  onStall?(): void;
}

/** Resolves when `out` can take more, or has closed; breaks `out` when that takes longer than the stall bound. */
function drained(out: ServerResponse, options: WriteOptions): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    const timer = setTimeout(() => {
      options.onStall?.();
      out.destroy();
    }, options.writeStallMs);
    out.once('drain', done);
    out.once('close', done);
  });
}

/**
 * @example
 * void writeResponse(await gateway.fetch(request, context), serverResponse, { writeStallMs: 30_000 });
 */
export async function writeResponse(response: Response, out: ServerResponse, options: WriteOptions): Promise<void> {
  const headers = nodeHeaders(response.headers);
  const status = response.status;
  const body = response.body;
  if (body === null) {
    out.writeHead(status, headers);
    out.end();
    return;
  }
  const reader = body.getReader();
  let gone = false;
  const onClose = (): void => {
    if (out.writableFinished) return;
    gone = true;
    reader.cancel(new Error('the client went away')).catch(() => {});
  };
  out.once('close', onClose);
  try {
    let pending = reader.read();
    let first = await byNextTurn(pending);
    if (gone) return;
    if (first === NOT_YET) {
      // A slow stream: its headers go now, on their own.
      out.writeHead(status, headers);
      out.flushHeaders();
      first = await pending;
    }
    // A cancelled body reads as done: the client is gone, there is nobody to answer.
    if (gone) return;
    if (first.done) {
      if (!out.headersSent) out.writeHead(status, headers);
      out.end();
      return;
    }
    pending = reader.read();
    const next = await byNextTurn(pending);
    if (gone) return;
    if (next !== NOT_YET && next.done && !out.headersSent) {
      // The whole body is here: one write, with its length.
      headers['content-length'] ??= String(first.value.byteLength);
      out.writeHead(status, headers);
      out.end(first.value);
      return;
    }
    if (!out.headersSent) out.writeHead(status, headers);
    if (!out.write(first.value)) await drained(out, options);
    let chunk = next === NOT_YET ? await pending : next;
    while (!chunk.done) {
      if (gone) return;
      if (!out.write(chunk.value)) await drained(out, options);
      if (gone) return;
      chunk = await reader.read();
    }
    if (gone) return;
    out.end();
  } catch {
    // The body failed (the origin broke off or went silent; core has logged it) or was
    // cancelled for a client gone: break the connection rather than end the response.
    out.destroy();
  } finally {
    out.off('close', onClose);
  }
}
