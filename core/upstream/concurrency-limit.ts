/**
 * A cap on requests in flight (load shedding), with an optional bounded queue: a request over the
 * cap waits in line for at most `queueTimeoutMs` while at most `queue` others wait, and is
 * refused at once when the line is full. First come, first served.
 */

export interface ConcurrencySettings {
  /** Requests in flight at most. */
  max: number;
  /** Requests that may wait for a slot (0: refuse at once). */
  queue: number;
  /** Longest wait in the queue, in milliseconds. */
  queueTimeoutMs: number;
}

export class ConcurrencyLimit {
  active = 0;
  private readonly waiting: { grant(): void }[] = [];

  constructor(readonly settings: ConcurrencySettings) {}

  /** Takes a slot now if there is one (no queueing). */
  tryAcquire(): boolean {
    if (this.active >= this.settings.max) return false;
    this.active++;
    return true;
  }

  /**
   * Takes a slot, waiting in the queue when allowed; resolves false when refused or timed out.
   * `maxWaitMs` shortens the wait below `queueTimeoutMs` (what is left of a deadline), and
   * `signal` gives the place in line up when it aborts (the client went away): false too.
   */
  acquire(maxWaitMs = Number.POSITIVE_INFINITY, signal?: AbortSignal): boolean | Promise<boolean> {
    if (this.tryAcquire()) return true;
    const waitMs = Math.min(this.settings.queueTimeoutMs, maxWaitMs);
    if (this.waiting.length >= this.settings.queue || waitMs <= 0 || signal?.aborted) return false;
    return new Promise<boolean>((resolve) => {
      const leave = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', leave);
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(false);
      };
      const entry = {
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', leave);
          resolve(true);
        },
      };
      const timer = setTimeout(leave, waitMs);
      signal?.addEventListener('abort', leave, { once: true });
      this.waiting.push(entry);
    });
  }

  /** Gives a slot back: to the first in line, else free. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next.grant();
    else if (this.active > 0) this.active--;
  }

  queued(): number {
    return this.waiting.length;
  }
}
