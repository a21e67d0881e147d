/**
 * An origin response read through undici's dispatch handler API, for relayed routes (their
 * policies leave bodies alone): the head resolves a promise once, and the body's chunks go
 * straight to one sink (relay.ts writes them to the ServerResponse), with undici's own pause and
 * resume for back-pressure. `agent.request` would make an AsyncResource, a Readable and a
 * parsed header record per request on top of this; the handler makes none of them.
 *
 * Before a sink is attached (between the head and the adapter's write), chunks are kept, up to
 * PAUSE_AFTER bytes, then undici is paused until the sink takes them.
 */
import type { Dispatcher } from 'undici';
import { HeaderMap } from '../../core/http/header-map.ts';

/** Bytes kept before a sink is attached, beyond which undici stops reading the origin. */
const PAUSE_AFTER = 64 * 1024;

export interface BodySink {
  /** A chunk of the body; false asks for a pause until `resume()`. */
  data(chunk: Buffer): boolean;
  end(): void;
  error(err: Error): void;
}

/** A second reader of the body's chunks beside the sink (the cache's copy for its store). */
export interface ChunkTap {
  chunk(chunk: Buffer): void;
  end(): void;
  /** The body did not arrive whole (the origin failed, or it was dropped): nothing may be kept. */
  abort(): void;
}

/** What the response listens on for cancellation: core's Cancel, or an AbortSignal in its shape. */
export interface CancelLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  once(event: 'abort', listener: () => void): unknown;
  removeListener(event: 'abort', listener: () => void): unknown;
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
}

/** undici's raw header list (Buffers or strings, name then value) as strings, decoded as undici does (latin1). */
function rawStrings(raw: ReadonlyArray<Buffer | string | string[]>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as Buffer | string;
    const value = raw[i + 1] as Buffer | string | string[];
    const n = typeof name === 'string' ? name : name.toString('latin1');
    if (Array.isArray(value)) for (const v of value) out.push(n, v);
    else out.push(n, typeof value === 'string' ? value : value.toString('latin1'));
  }
  return out;
}

export class DispatchedResponse implements Dispatcher.DispatchHandler {
  status = 0;
  headers: HeaderMap | null = null;
  /** The whole body has arrived. */
  ended = false;
  /** Why the exchange failed (an origin error, or the cancellation's reason). */
  failure: Error | null = null;
  readonly head: Promise<DispatchedResponse>;

  private abortFn: ((err: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private pausedByUs = false;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private sink: BodySink | null = null;
  private tapper: ChunkTap | null = null;
  /** Chunks are dropped (a body that will not be sent). */
  private discarding = false;
  private headSettled = false;
  private resolveHead!: (r: DispatchedResponse) => void;
  private rejectHead!: (err: Error) => void;
  private readonly onCancel = (): void => this.destroy(asError(this.cancel.reason));

  constructor(
    private readonly cancel: CancelLike,
    private readonly onInterim?: (status: number, headers: Record<string, string | string[]>) => void,
  ) {
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    if (cancel.aborted) this.destroy(asError(cancel.reason));
    else cancel.once('abort', this.onCancel);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.failure !== null) {
      abort(this.failure);
      return;
    }
    this.abortFn = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) {
      // 100 Continue belongs to the request body; 101 never comes without an upgrade.
      if (statusCode !== 100 && statusCode !== 101 && this.onInterim) {
        const record: Record<string, string | string[]> = {};
        const list = rawStrings(rawHeaders);
        for (let i = 0; i + 1 < list.length; i += 2) {
          const name = (list[i] as string).toLowerCase();
          const had = record[name];
          const v = list[i + 1] as string;
          record[name] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
        }
        this.onInterim(statusCode, record);
      }
      return true;
    }
    this.status = statusCode;
    this.headers = HeaderMap.fromRaw(rawStrings(rawHeaders));
    this.resumeFn = resume;
    this.headSettled = true;
    this.resolveHead(this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.tapper?.chunk(chunk);
    if (this.discarding) return true;
    if (this.sink !== null) {
      const more = this.sink.data(chunk);
      if (!more) this.pausedByUs = true;
      return more;
    }
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.byteLength;
    if (this.bufferedBytes < PAUSE_AFTER) return true;
    this.pausedByUs = true;
    return false;
  }

  onComplete(): void {
    this.ended = true;
    this.cancel.removeListener('abort', this.onCancel);
    this.tapper?.end();
    this.tapper = null;
    this.sink?.end();
  }

  onError(err: Error): void {
    this.cancel.removeListener('abort', this.onCancel);
    if (this.ended) return;
    this.failure ??= err;
    this.tapper?.abort();
    this.tapper = null;
    if (!this.headSettled) {
      this.headSettled = true;
      this.rejectHead(this.failure);
      return;
    }
    this.sink?.error(this.failure);
  }

  /**
   * Lets `tap` see every chunk too: those kept so far at once, then each as it comes, with the
   * end or the abort. Set before the sink is attached (the sink takes the kept chunks).
   */
  tap(tap: ChunkTap): void {
    if (this.failure !== null) {
      tap.abort();
      return;
    }
    for (const chunk of this.buffered) tap.chunk(chunk);
    if (this.ended) {
      tap.end();
      return;
    }
    this.tapper = tap;
  }

  /** Whether any of the body is kept (it arrived before a sink). */
  hasBuffered(): boolean {
    return this.bufferedBytes > 0;
  }

  /** The body kept so far, as one Buffer (null when none), taken out of the response. */
  takeBuffered(): Buffer | null {
    const chunks = this.buffered;
    this.buffered = [];
    this.bufferedBytes = 0;
    if (chunks.length === 0) return null;
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  }

  /** Hands the body to `sink`: what is kept goes at once, the rest as it comes. */
  attach(sink: BodySink): void {
    const kept = this.takeBuffered();
    this.sink = sink;
    const more = kept === null ? true : sink.data(kept);
    if (this.ended) {
      sink.end();
      return;
    }
    if (this.failure !== null) {
      sink.error(this.failure);
      return;
    }
    if (more && this.pausedByUs) this.resume();
    else if (!more) this.pausedByUs = true;
  }

  /** Reads on after a pause (the sink drained). */
  resume(): void {
    if (!this.pausedByUs) return;
    this.pausedByUs = false;
    this.resumeFn?.();
  }

  /** Drops the body: the origin exchange is aborted unless it has ended (its connection is then reused). */
  destroy(err?: Error): void {
    this.discarding = true;
    this.buffered = [];
    this.bufferedBytes = 0;
    if (this.ended || this.failure !== null) return;
    const reason = err ?? new Error('the origin body was dropped');
    this.failure = reason;
    this.tapper?.abort();
    this.tapper = null;
    this.cancel.removeListener('abort', this.onCancel);
    if (!this.headSettled) {
      this.headSettled = true;
      this.rejectHead(reason);
    }
    if (this.abortFn) this.abortFn(reason);
    else if (this.pausedByUs) this.resumeFn?.();
  }

  /**
   * A body that will not be sent but is read to its end: HEAD, 204 and 304 (so the connection
   * is reused), or one whose tap keeps it for the cache while the client gets a 304.
   */
  drain(): void {
    this.discarding = true;
    this.buffered = [];
    this.bufferedBytes = 0;
    this.resume();
  }
}
