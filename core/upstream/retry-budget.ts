/**
 * A retry budget per route, in the way of Finagle's RetryBudget and Envoy's retry budgets:
 * over the last `windowMs`, retries may number at most `ratio` of the requests plus
 * `minPerSecond` for each second of the window. An origin that fails every request therefore
 * gets at most 1 + ratio times its normal load from the gateway, never a multiple of it.
 */
import { RequestWindow } from './request-window.ts';

export interface RetryBudgetSettings {
  /** Share of requests that may be retried (0-1), default 0.2. */
  ratio: number;
  /** Retries always allowed per second, default 3 (so a quiet route can still retry). */
  minPerSecond: number;
  /** Window the budget is counted over, in milliseconds (10000). */
  windowMs: number;
}

export class RetryBudget {
  /** Requests (first tries) and the retries among them, over the window. */
  private readonly window: RequestWindow;

  constructor(
    readonly settings: RetryBudgetSettings,
    now: () => number,
  ) {
    this.window = new RequestWindow(settings.windowMs, now);
  }

  /** Counts one request (its first try). */
  deposit(): void {
    this.window.add(1, 0);
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryWithdraw(): boolean {
    const { requests, retries } = this.counts();
    const allowed = this.settings.ratio * requests + (this.settings.minPerSecond * this.settings.windowMs) / 1000;
    if (retries + 1 > allowed) return false;
    this.window.add(0, 1);
    return true;
  }

  counts(): { requests: number; retries: number } {
    const { requests, marked } = this.window.sums();
    return { requests, retries: marked };
  }
}
