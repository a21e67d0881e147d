/**
 * The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers (-08 to -10):
 * Structured Field Lists (RFC 9651) of quoted policy names with parameters:
 * - `RateLimit-Policy: "10-per-1s";q=10;w=1, "1000-per-1h";q=1000;w=3600`: `q` the quota
 *   units, `w` the window in seconds;
 * - `RateLimit: "10-per-1s";r=0;t=1`: `r` the units left, `t` seconds until the quota is back.
 * No partition key (`pk`) is sent: it would tell clients how the gateway keys them.
 */
import type { CounterDecision } from '../../capabilities.ts';
import type { CompiledLimit } from './compile.ts';

/** `"name";q=N;w=S` for each limit, computed once per route. */
export function policyField(limits: readonly CompiledLimit[]): string {
  return limits.map((l) => `"${l.id}";q=${l.capacity};w=${Math.max(1, Math.ceil(l.windowMs / 1000))}`).join(', ');
}

/** `"name";r=N;t=S` for each limit that decided this request. */
export function rateLimitField(limits: readonly CompiledLimit[], decisions: readonly CounterDecision[]): string {
  let out = '';
  for (let i = 0; i < decisions.length; i++) {
    const d = decisions[i]!;
    if (i > 0) out += ', ';
    out += `"${limits[i]!.id}";r=${d.remaining};t=${Math.ceil(d.resetMs / 1000)}`;
  }
  return out;
}
