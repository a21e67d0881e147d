/**
 * Two counts over a sliding window, cut into 10 buckets: requests, and those of them that are
 * marked (failed, for a circuit breaker; retried, for a retry budget). A bucket older than the
 * window is reset when its slot comes round again, so counting costs no timer and no allocation.
 */

/** Number of buckets the window is cut into. */
const BUCKETS = 10;

export interface WindowSums {
  requests: number;
  marked: number;
}

export class RequestWindow {
  private readonly requests = new Array<number>(BUCKETS).fill(0);
  private readonly marked = new Array<number>(BUCKETS).fill(0);
  /** The bucket number (time / bucket width) each slot holds; -1 when empty. */
  private readonly slots = new Array<number>(BUCKETS).fill(-1);
  private readonly bucketMs: number;

  /** `windowMs`: the window's length in milliseconds; `now`: the clock, in milliseconds. */
  constructor(
    windowMs: number,
    private readonly now: () => number,
  ) {
    this.bucketMs = Math.max(1, Math.floor(windowMs / BUCKETS));
  }

  /** Adds `requests` and `marked` to the current bucket. */
  add(requests: number, marked: number): void {
    const bucket = Math.floor(this.now() / this.bucketMs);
    const i = bucket % BUCKETS;
    if (this.slots[i] !== bucket) {
      this.slots[i] = bucket;
      this.requests[i] = 0;
      this.marked[i] = 0;
    }
    this.requests[i] = (this.requests[i] ?? 0) + requests;
    this.marked[i] = (this.marked[i] ?? 0) + marked;
  }

  /** The counts of the buckets inside the window. */
  sums(): WindowSums {
    const current = Math.floor(this.now() / this.bucketMs);
    let requests = 0;
    let marked = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (current - (this.slots[i] ?? -1) >= BUCKETS) continue;
      requests += this.requests[i] ?? 0;
      marked += this.marked[i] ?? 0;
    }
    return { requests, marked };
  }

  clear(): void {
    this.slots.fill(-1);
    this.requests.fill(0);
    this.marked.fill(0);
  }
}
