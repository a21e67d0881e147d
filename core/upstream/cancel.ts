/**
 * The cancellation of one try at an origin (its timeout, or the client gone), made per try.
 *
 * An AbortController and the listeners that undici puts on its signal cost about 12 µs of CPU
 * per request on Node (measured: node:http + undici.request at 81 µs per request, 93 µs with a
 * signal), most of it in Node's EventTarget. This is a plain object: `abort` and listeners are
 * array work, and a real `AbortSignal` is made only when a forwarder reads `signal` (fetch on
 * the other runtimes). It also has the EventEmitter shape (`on`, `once`, `removeListener`)
 * that undici accepts for its `signal` option, so the Node forwarder hands it over as it is.
 */
export class Cancel {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<(reason: unknown) => void> | null = null;
  private controller: AbortController | null = null;

  /** Aborts once: the signal (if made) and every listener, in order. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners) for (const listener of listeners) listener(reason);
  }

  /** A WHATWG AbortSignal that follows this cancellation, made on first use. */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Calls `listener` once on abort (EventEmitter shape, `event` is always "abort"). */
  once(_event: 'abort', listener: (reason: unknown) => void): this {
    if (this.aborted) return this;
    if (this.listeners === null) this.listeners = [listener];
    else this.listeners.push(listener);
    return this;
  }

  on(event: 'abort', listener: (reason: unknown) => void): this {
    return this.once(event, listener);
  }

  addListener(event: 'abort', listener: (reason: unknown) => void): this {
    return this.once(event, listener);
  }

  removeListener(_event: 'abort', listener: (reason: unknown) => void): this {
    const listeners = this.listeners;
    if (listeners === null) return this;
    const at = listeners.indexOf(listener);
    if (at !== -1) listeners.splice(at, 1);
    return this;
  }

  off(event: 'abort', listener: (reason: unknown) => void): this {
    return this.removeListener(event, listener);
  }
}
