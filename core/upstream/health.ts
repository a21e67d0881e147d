/**
 * Active health checks. Each origin with a `healthCheck` is probed with a GET of its path; after
 * `unhealthyThreshold` bad probes in a row it leaves the origin order, after `healthyThreshold`
 * good ones it comes back. Every verdict change is logged once.
 *
 * Where the runtime has timers that outlive requests (Node, Deno: `Capabilities.timers`), a timer
 * per origin probes every `intervalMs`. On isolates (Workers, Vercel, Fastly, WASI) nothing runs
 * between requests, so a request starts the probes that are due, at most once per interval per
 * isolate, in `waitUntil`; the verdict is written to the KV store (`portico:health:<origin>`) and
 * read from it at most once per interval, so isolates that see no traffic on an origin still learn
 * of it. How stale that is: at most one interval, plus the store's own propagation (Workers KV
 * takes up to 60 s to show a write at other locations).
 */
import type { ForwardFn, KVStore, LogRecord } from '../capabilities.ts';
import type { Upstreams, OriginState } from './upstreams.ts';

export interface HealthCheckerOptions {
  forward: ForwardFn;
  now(): number;
  log(record: LogRecord): void;
  kv: KVStore;
  /** Whether the shared KV is the platform's (worth reading and writing) rather than per-instance memory. */
  sharedKv: boolean;
}

interface Probed {
  state: OriginState;
  good: number;
  bad: number;
  lastProbe: number;
  lastRead: number;
  running: boolean;
}

export const HEALTH_KEY_PREFIX = 'portico:health:';

export class HealthChecker {
  private readonly probed: Probed[];
  private readonly timers: ReturnType<typeof setInterval>[] = [];

  constructor(
    upstreams: Upstreams,
    private readonly options: HealthCheckerOptions,
  ) {
    this.probed = upstreams
      .allOrigins()
      .filter((s) => s.origin.healthCheck)
      .map((state) => ({ state, good: 0, bad: 0, lastProbe: 0, lastRead: 0, running: false }));
  }

  /** Whether any origin has health checks. */
  get active(): boolean {
    return this.probed.length > 0;
  }

  /** Starts a timer per origin (runtimes with timers). The timers do not keep a process alive. */
  startTimers(): void {
    for (const p of this.probed) {
      const interval = p.state.origin.healthCheck?.intervalMs ?? 10_000;
      void this.probe(p);
      const timer = setInterval(() => void this.probe(p), interval);
      // Node's timers keep the process alive unless unref'd; other runtimes have no unref.
      (timer as { unref?: () => void }).unref?.();
      this.timers.push(timer);
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /**
   * Per request on isolates: starts the probes (and KV reads) that are due; returns the work to
   * hand to waitUntil, or null when nothing is due.
   */
  onRequest(): Promise<unknown> | null {
    const now = this.options.now();
    const due: Promise<unknown>[] = [];
    for (const p of this.probed) {
      const interval = p.state.origin.healthCheck?.intervalMs ?? 10_000;
      if (this.options.sharedKv && now - p.lastRead >= interval) {
        p.lastRead = now;
        due.push(this.readShared(p));
      }
      if (now - p.lastProbe >= interval) due.push(this.probe(p));
    }
    return due.length > 0 ? Promise.all(due) : null;
  }

  /** One probe of one origin. */
  async probe(p: Probed): Promise<void> {
    const hc = p.state.origin.healthCheck;
    if (!hc || p.running) return;
    p.running = true;
    p.lastProbe = this.options.now();
    const origin = p.state.origin;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('health check timed out', 'TimeoutError')), hc.timeoutMs);
    let ok = false;
    try {
      const res = await this.options.forward(origin.origin + origin.basePath + hc.path, {
        method: 'GET',
        headers: new Headers({ 'user-agent': 'portico-health-check' }),
        body: null,
        redirect: 'manual',
        signal: controller.signal,
        guardBody: (source) =>
          new ReadableStream({
            async pull(c) {
              const chunk = await source.read();
              if (chunk.done) c.close();
              else c.enqueue(chunk.value);
            },
            cancel: (reason) => source.cancel(reason),
          }),
      });
      ok = hc.expectedStatuses.length > 0 ? hc.expectedStatuses.includes(res.status) : res.status >= 200 && res.status < 400;
      await res.body?.cancel().catch(() => {});
    } catch {
      ok = false;
    } finally {
      clearTimeout(timer);
      p.running = false;
    }
    if (ok) {
      p.good++;
      p.bad = 0;
    } else {
      p.bad++;
      p.good = 0;
    }
    const state = p.state;
    const before = state.healthy;
    if (!state.healthy && p.good >= hc.healthyThreshold) state.healthy = true;
    if (state.healthy && p.bad >= hc.unhealthyThreshold) state.healthy = false;
    state.healthCheckedAt = this.options.now();
    if (before !== state.healthy) {
      this.options.log({
        level: state.healthy ? 'info' : 'warn',
        msg: state.healthy ? 'origin healthy' : 'origin unhealthy',
        origin: origin.name,
        region: origin.region,
        health: state.healthy ? 'healthy' : 'unhealthy',
      });
    }
    if (this.options.sharedKv) {
      const ttlSeconds = Math.max(60, Math.ceil((hc.intervalMs * 3) / 1000));
      await this.options.kv
        .put(HEALTH_KEY_PREFIX + origin.name, JSON.stringify({ healthy: state.healthy, at: state.healthCheckedAt }), {
          ttlSeconds,
        })
        .catch(() => {});
    }
  }

  /** Adopts a newer verdict another instance wrote. */
  private async readShared(p: Probed): Promise<void> {
    const text = await this.options.kv.get(HEALTH_KEY_PREFIX + p.state.origin.name).catch(() => null);
    if (!text) return;
    try {
      const v = JSON.parse(text) as { healthy?: unknown; at?: unknown };
      if (typeof v.healthy === 'boolean' && typeof v.at === 'number' && v.at > p.state.healthCheckedAt) {
        p.state.healthy = v.healthy;
        p.state.healthCheckedAt = v.at;
      }
    } catch {
      // A value this version did not write: ignored.
    }
  }
}
