/**
 * A circuit breaker per origin (passive health). Closed, it counts outcomes: it opens after
 * `failures` consecutive failures, or when at least `minRequests` requests of the last
 * `windowMs` failed at `failureRatio` or more. Open, it refuses for `openMs` (± `jitter`, so
 * that the gateways of a fleet do not probe an origin that comes back all at the same moment).
 * Then it lets `halfOpenProbes` requests through at a time; that many successes close it, one
 * failure opens it again. A failure is a 5xx, a timeout or a connect error (outlier ejection).
 */
import { RequestWindow } from './request-window.ts';

/** Resolved breaker settings (see BreakerOptions in the config schema for units and defaults). */
export interface BreakerSettings {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** Share of failed requests in the window (0-1) that opens the breaker. */
  failureRatio: number;
  /** Requests the window must hold before the ratio counts. */
  minRequests: number;
  /** Window of the ratio, in milliseconds. */
  windowMs: number;
  /** How long the breaker stays open, in milliseconds, before probing. */
  openMs: number;
  /** Spread of the open time, as a share of openMs (0.2: ±20%). */
  jitter: number;
  /** Probes let through at a time when half-open, and successes needed to close. */
  halfOpenProbes: number;
}

export const DEFAULT_BREAKER: BreakerSettings = {
  failures: 5,
  failureRatio: 0.5,
  minRequests: 20,
  windowMs: 10_000,
  openMs: 5_000,
  jitter: 0.2,
  halfOpenProbes: 1,
};

export type BreakerState = 'closed' | 'open' | 'half-open';

/** What a transition tells the log (once per transition). */
export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  /** Why: `consecutive`, `ratio`, `probe-failed`, `open-elapsed`, `probes-succeeded`. */
  reason: string;
  /** For `to: 'open'`: how long it stays open, in milliseconds. */
  openMs?: number;
}

/** Whether a request may go to the origin: `probe` when it is one of the half-open probes. */
export type Admission = 'yes' | 'probe' | 'no';

export class CircuitBreaker {
  state: BreakerState = 'closed';
  /** When an open breaker may probe, in milliseconds since the epoch. */
  openUntil = 0;
  consecutive = 0;
  private probing = 0;
  private probeSuccesses = 0;
  /** Requests and failures over the ratio window. */
  private readonly window: RequestWindow;

  constructor(
    readonly settings: BreakerSettings,
    private readonly now: () => number,
    private readonly onTransition: (t: BreakerTransition) => void,
    private readonly random: () => number = Math.random,
  ) {
    this.window = new RequestWindow(settings.windowMs, now);
  }

  /** Whether the origin would be tried now, without taking a probe slot (for ordering and explain). */
  available(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') return this.now() >= this.openUntil;
    return this.probing < this.settings.halfOpenProbes;
  }

  /** Takes the right to send one request. A `probe` must be settled with `record` or `release`. */
  admit(): Admission {
    if (this.state === 'open') {
      if (this.now() < this.openUntil) return 'no';
      this.move('half-open', 'open-elapsed');
    }
    if (this.state === 'half-open') {
      if (this.probing >= this.settings.halfOpenProbes) return 'no';
      this.probing++;
      return 'probe';
    }
    return 'yes';
  }

  /** A probe that ended without an outcome (the client went away). */
  release(admission: Admission): void {
    if (admission === 'probe' && this.probing > 0) this.probing--;
  }

  /** Records the outcome of a request admitted with `admission`. */
  record(ok: boolean, admission: Admission): void {
    if (admission === 'probe') {
      if (this.probing > 0) this.probing--;
      if (this.state !== 'half-open') return;
      if (!ok) {
        this.open('probe-failed');
        return;
      }
      this.probeSuccesses++;
      if (this.probeSuccesses >= this.settings.halfOpenProbes) {
        this.consecutive = 0;
        this.window.clear();
        this.move('closed', 'probes-succeeded');
      }
      return;
    }
    // Requests admitted while closed that end after the breaker opened say nothing new.
    if (this.state !== 'closed') return;
    this.window.add(1, ok ? 0 : 1);
    if (ok) {
      this.consecutive = 0;
      return;
    }
    this.consecutive++;
    if (this.consecutive >= this.settings.failures) {
      this.open('consecutive');
      return;
    }
    const { requests, marked } = this.window.sums();
    if (requests >= this.settings.minRequests && marked / requests >= this.settings.failureRatio) this.open('ratio');
  }

  /** Requests and failures in the window, for the status view. */
  windowCounts(): { requests: number; failures: number } {
    const { requests, marked } = this.window.sums();
    return { requests, failures: marked };
  }

  private open(reason: string): void {
    const { openMs, jitter } = this.settings;
    const ms = Math.max(1, Math.round(openMs * (1 + jitter * (2 * this.random() - 1))));
    this.openUntil = this.now() + ms;
    this.probing = 0;
    this.probeSuccesses = 0;
    this.move('open', reason, ms);
  }

  private move(to: BreakerState, reason: string, openMs?: number): void {
    const from = this.state;
    this.state = to;
    if (to === 'half-open') this.probeSuccesses = 0;
    this.onTransition(openMs === undefined ? { from, to, reason } : { from, to, reason, openMs });
  }
}
