/**
 * A Retry-After value, seconds or an HTTP date (RFC 9110 §10.2.3), in milliseconds from `now`;
 * null when absent or bad. Read from an origin's 503 (proxy.ts) and a collector's throttling
 * answer (observe/exporter.ts).
 * @example retryAfterMs('120', Date.now()) // 120000
 */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
