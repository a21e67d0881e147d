/**
 * A retry budget per route, in the way of Finagle's RetryBudget and Envoy's retry budgets:
 * over the last `windowMs`, retries may number at most `ratio` of the requests plus
 * `minPerSecond` for each second of the window. An origin that fails every request therefore
 * gets at most 1 + ratio times its normal load from the gateway, never a multiple of it.
 */

export interface RetryBudgetSettings {
  /** Share of requests that may be retried (0-1), default 0.2. */
  ratio: number;
  /** Retries always allowed per second, default 3 (so a quiet route can still retry). */
  minPerSecond: number;
  /** Window the budget is counted over, in milliseconds (10000). */
  windowMs: number;
}

const BUCKETS = 10;

export class RetryBudget {
  private readonly requests = new Array<number>(BUCKETS).fill(0);
  private readonly retries = new Array<number>(BUCKETS).fill(0);
  private readonly slots = new Array<number>(BUCKETS).fill(-1);

  constructor(
    readonly settings: RetryBudgetSettings,
    private readonly now: () => number,
  ) {}

  /** Counts one request (its first try). */
  deposit(): void {
    const i = this.slot();
    this.requests[i] = (this.requests[i] ?? 0) + 1;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryWithdraw(): boolean {
    const { requests, retries } = this.counts();
    const allowed = this.settings.ratio * requests + (this.settings.minPerSecond * this.settings.windowMs) / 1000;
    if (retries + 1 > allowed) return false;
    const i = this.slot();
    this.retries[i] = (this.retries[i] ?? 0) + 1;
    return true;
  }

  counts(): { requests: number; retries: number } {
    const current = Math.floor(this.now() / this.bucketMs());
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (current - (this.slots[i] ?? -1) >= BUCKETS) continue;
      requests += this.requests[i] ?? 0;
      retries += this.retries[i] ?? 0;
    }
    return { requests, retries };
  }

  private bucketMs(): number {
    return Math.max(1, Math.floor(this.settings.windowMs / BUCKETS));
  }

  private slot(): number {
    const bucket = Math.floor(this.now() / this.bucketMs());
    const i = bucket % BUCKETS;
    if (this.slots[i] !== bucket) {
      this.slots[i] = bucket;
      this.requests[i] = 0;
      this.retries[i] = 0;
    }
    return i;
  }
}
