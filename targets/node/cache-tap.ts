/**
 * Feeds the cache's tap (core/policies/cache/body-tap.ts) from a relayed origin body: every chunk
 * the DispatchedResponse receives, to its end. The body is written to the client by relay.ts as
 * on any relayed route; the tap only sees the same chunks beside it (relay.ts's back-pressure
 * pauses the origin for both). When the client's answer does not carry the body (a 304 made
 * from it), the body is read here to its end for the store. A body that stops before its end (the
 * origin failed, relay.ts cut it, the client went away) aborts the tap: nothing is stored.
 */
import { takeBodyTap } from '../../core/policies/cache/index.ts';
import type { DispatchedResponse } from './dispatched-response.ts';

/**
 * Call for every response before it is written (or dropped), while its relayed body is untouched.
 * @example tapCachedBody(response); // then writeRelayed(...) as usual
 */
export function tapCachedBody(response: Response): void {
  const tap = takeBodyTap(response);
  if (!tap) return;
  const body = tap.native as DispatchedResponse;
  // The tap has the three methods a ChunkTap needs, called on it.
  body.tap(tap);
  if (tap.drain) body.drain();
}
