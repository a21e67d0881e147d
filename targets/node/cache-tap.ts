/**
 * Feeds the cache's tap (core/policies/cache/body-tap.ts) from a relayed origin body: every chunk
 * that undici's Readable gives, to its end. The body is written to the client by relay.ts as on
 * any relayed route; this only listens beside it (a second 'data' listener sees the same chunks,
 * and relay.ts's backpressure pauses both). When the client's answer does not carry the body (a
 * 304 made from it), it is read here to its end for the store. A body destroyed before its end
 * (the origin failed, relay.ts cut it, the client went away) aborts the tap: nothing is stored.
 */
import type { Readable } from 'node:stream';
import { takeBodyTap } from '../../core/policies/cache/index.ts';

/**
 * Call for every response before it is written (or dropped), while its relayed body is untouched.
 * @example tapCachedBody(response); // then writeRelayed(...) as usual
 */
export function tapCachedBody(response: Response): void {
  const tap = takeBodyTap(response);
  if (!tap) return;
  const body = tap.native as Readable;
  if (body.destroyed) {
    tap.abort();
    return;
  }
  const onData = (chunk: Buffer): void => tap.chunk(chunk);
  body.on('data', onData);
  body.once('end', () => {
    body.off('data', onData);
    tap.end();
  });
  // 'close' follows 'end' (the tap is settled then) or a destroy before it.
  body.once('close', () => tap.abort());
  // Its error is relay.ts's to report; the tap only needs the 'close' after it.
  body.on('error', () => {});
  if (tap.drain) body.resume();
}
