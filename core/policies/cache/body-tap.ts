/**
 * How the cache stores an origin body it does not read itself: on a route whose body the adapter
 * relays natively (ForwardInit.relay; the Node target), the origin's body goes to the client
 * without a web stream, and the adapter hands each chunk it relays to a tap kept beside the
 * response. The tap collects up to the entry's byte bound; only a body seen to its end is given
 * to the store. A body that fails, is cut, or whose client goes away mid-way ends in `abort`:
 * nothing is stored (and the requests waiting on it go to the origin themselves).
 *
 * Core never touches the runtime's body object: `native` is what the forwarder gave
 * (RelayedBody.native), and the adapter that made it also reads it (targets/node/cache-tap.ts).
 */

/** What an adapter feeds with a relayed body's chunks; exactly one of `end` and `abort` is called, once. */
export interface BodyTap {
  /** The forwarder's own body object (Node: its DispatchedResponse). */
  readonly native: unknown;
  /**
   * True when the client's answer does not carry this body (the cache answered it 304 from the
   * full response): the adapter reads the body to its end for the store, writing it nowhere.
   */
  readonly drain: boolean;
  /** One chunk, as relayed (never kept: copied when the body ends). */
  chunk(bytes: Uint8Array): void;
  /** The body's end has been read. */
  end(): void;
  /** The body stopped before its end (failed, destroyed, the client went away). */
  abort(): void;
}

/**
 * Where a response's tap sits: a property of the response under a symbol, not a WeakMap keyed by
 * it. A WeakMap entry per miss is an ephemeron that every young-generation collection must
 * process while the response lives (bench/README.md, "what a cache miss costs").
 */
const TAP = Symbol('portico.bodyTap');
type Tapped = Response & { [TAP]?: BodyTap | undefined };

/**
 * The tap beside `response`, taken (a second call gives undefined), for the adapter to feed
 * while it writes the relayed body. Adapters that relay natively call it for every response.
 */
export function takeBodyTap(response: Response): BodyTap | undefined {
  const tap = (response as Tapped)[TAP];
  if (tap) (response as Tapped)[TAP] = undefined;
  return tap;
}

/** A tap that collects the chunks it is fed, up to a bound, and hands the whole body to `done`. */
class Collector implements BodyTap {
  private chunks: Uint8Array[] | null = [];
  private size = 0;
  private settled = false;

  constructor(
    readonly native: unknown,
    readonly drain: boolean,
    private readonly limit: number,
    private readonly done: (body: Uint8Array<ArrayBuffer> | null) => void,
  ) {}

  chunk(bytes: Uint8Array): void {
    if (this.chunks === null) return;
    this.size += bytes.byteLength;
    if (this.size > this.limit) this.chunks = null;
    else this.chunks.push(bytes);
  }

  end(): void {
    if (this.settled) return;
    this.settled = true;
    const chunks = this.chunks;
    this.chunks = null;
    if (chunks === null) {
      this.done(null);
      return;
    }
    // A copy of its own: a relayed chunk may be a view into a larger buffer of the runtime's.
    const body = new Uint8Array(this.size);
    let at = 0;
    for (const c of chunks) {
      body.set(c, at);
      at += c.byteLength;
    }
    this.done(body);
  }

  abort(): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks = null;
    this.done(null);
  }
}

/**
 * Puts a tap beside `response`, collecting at most `limit` bytes: `done` gets the whole body, or
 * null when it was longer than `limit` or stopped before its end.
 */
export function tapBody(
  response: Response,
  native: unknown,
  limit: number,
  drain: boolean,
  done: (body: Uint8Array<ArrayBuffer> | null) => void,
): void {
  (response as Tapped)[TAP] = new Collector(native, drain, limit, done);
}

/**
 * Drops the origin body of a response that will not be sent (a stale entry served in its place):
 * its web stream cancelled, or a relayed body destroyed when the runtime's object can be (a Node
 * Readable), which frees the origin connection now.
 */
export function dropBody(response: Response, native: unknown): void {
  if (native !== undefined && native !== null) {
    const n = native as { destroy?: () => void; on?: (event: string, fn: () => void) => void };
    if (typeof n.destroy === 'function') {
      // Destroying emits an abort error; nobody else reads this body.
      n.on?.('error', () => {});
      n.destroy();
    }
  }
  void response.body?.cancel().catch(() => {});
}
