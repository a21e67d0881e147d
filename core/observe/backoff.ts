/**
 * Back-off after failed calls to a service the gateway depends on but that no request waits
 * for: the OTLP collector (exporter.ts) and an issuer's JWKS endpoint (policies/jwt/jwks-cache.ts).
 * Both need the same thing: after the n-th failure in a row, no new try for
 * `min(firstMs * 2^(n-1), maxMs)`, less a random share of up to `jitter` of it (so that the
 * isolates of a fleet that failed together do not come back together); the first success resets
 * it. Tries ride on requests (isolates have no timers), so this only says whether one may start.
 *
 * It lives here rather than in a neutral folder because observability is its first user; the
 * JWKS cache imports it.
 */

export interface BackoffOptions {
  /** Pause after the first failure, in milliseconds. */
  firstMs: number;
  /** Longest pause, in milliseconds. */
  maxMs: number;
  /** Share of each pause that is random, from 0 (none) to 1; the pause lies in [base·(1−jitter), base]. */
  jitter: number;
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number;
}

export class Backoff {
  /** Failures in a row since the last success. */
  failures = 0;
  private until = 0;
  private readonly random: () => number;

  constructor(private readonly o: BackoffOptions) {
    this.random = o.random ?? Math.random;
  }

  /** Whether a try may start at `now` (milliseconds). */
  ready(now: number): boolean {
    return now >= this.until;
  }

  /**
   * Records a failure at `now`; returns the pause before the next try, in milliseconds.
   * @param atLeastMs the service's own ask (a Retry-After), when longer than the back-off
   */
  failed(now: number, atLeastMs = 0): number {
    this.failures++;
    // 2^(n-1) stops growing once past the cap, so a long outage cannot overflow it.
    const base = Math.min(this.o.firstMs * 2 ** Math.min(this.failures - 1, 52), this.o.maxMs);
    const pause = Math.max(base * (1 - this.o.jitter * this.random()), atLeastMs);
    this.until = now + pause;
    return pause;
  }

  /** Records a success: the next failure pauses `firstMs` again. */
  succeeded(): void {
    this.failures = 0;
    this.until = 0;
  }
}
