/**
 * Prometheus exposition of a registry: the text format 0.0.4, and OpenMetrics 1.0.0 when the
 * scraper asks for it through Accept (what Prometheus 2.x sends first when it can take it).
 *
 * Differences between the two that matter here: OpenMetrics names a counter family without its
 * `_total` suffix and an info family without `_info`, has the `info` type, and ends with `# EOF`.
 */
import type { Counter, Gauge, Histogram, Metric, Registry } from './registry.ts';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type ExpositionFormat = 'text' | 'openmetrics';

/** The format an Accept header asks for: OpenMetrics only when it is named (Prometheus names it first). */
export function negotiateFormat(accept: string | null): ExpositionFormat {
  return accept?.includes('application/openmetrics-text') ? 'openmetrics' : 'text';
}

/** A label value as the text formats write it: backslash, double quote and newline escaped. */
function escapeValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

/** HELP text: backslash and newline escaped (and the double quote too in OpenMetrics). */
function escapeHelp(help: string, format: ExpositionFormat): string {
  const t = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? t.replace(/"/g, '\\"') : t;
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  let out = '';
  for (let i = 0; i < names.length; i++) {
    const v = values[i] ?? '';
    out += `${out ? ',' : ''}${names[i]}="${escapeValue(v)}"`;
  }
  if (extra) out += `${out ? ',' : ''}${extra}`;
  return out ? `{${out}}` : '';
}

/** A number as both formats take it (`+Inf`, `-Inf`, `NaN`, else JavaScript's shortest form). */
function num(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Number.isNaN(n)) return 'NaN';
  return String(n);
}

function counterLines(m: Counter, format: ExpositionFormat): string {
  const family = format === 'openmetrics' ? m.name : `${m.name}_total`;
  let out = `# HELP ${family} ${escapeHelp(m.help, format)}\n# TYPE ${family} counter\n`;
  for (const s of m.series.values()) out += `${m.name}_total${labelText(m.labelNames, s.labels)} ${num(s.value)}\n`;
  return out;
}

function gaugeLines(m: Gauge, format: ExpositionFormat): string {
  const info = m.kind === 'info';
  const family = info && format === 'openmetrics' ? m.name : info ? `${m.name}_info` : m.name;
  const type = info && format === 'openmetrics' ? 'info' : 'gauge';
  let out = `# HELP ${family} ${escapeHelp(m.help, format)}\n# TYPE ${family} ${type}\n`;
  const sample = info ? `${m.name}_info` : m.name;
  for (const s of m.series.values()) out += `${sample}${labelText(m.labelNames, s.labels)} ${num(s.value)}\n`;
  return out;
}

function histogramLines(m: Histogram, format: ExpositionFormat): string {
  let out = `# HELP ${m.name} ${escapeHelp(m.help, format)}\n# TYPE ${m.name} histogram\n`;
  for (const s of m.series.values()) {
    let cumulative = 0;
    for (let i = 0; i <= m.bounds.length; i++) {
      cumulative += s.counts[i] ?? 0;
      const le = i < m.bounds.length ? num(m.bounds[i] as number) : '+Inf';
      out += `${m.name}_bucket${labelText(m.labelNames, s.labels, `le="${le}"`)} ${cumulative}\n`;
    }
    out += `${m.name}_sum${labelText(m.labelNames, s.labels)} ${num(s.sum)}\n`;
    out += `${m.name}_count${labelText(m.labelNames, s.labels)} ${s.count}\n`;
  }
  return out;
}

function metricLines(m: Metric, format: ExpositionFormat): string {
  if (m.kind === 'counter') return counterLines(m, format);
  if (m.kind === 'histogram') return histogramLines(m, format);
  return gaugeLines(m, format);
}

/**
 * The registry's exposition. Families without series are left out (Prometheus accepts them,
 * but an empty family says nothing).
 * @example new Response(encodePrometheus(registry, 'text'), { headers: { 'content-type': TEXT_CONTENT_TYPE } })
 */
export function encodePrometheus(registry: Registry, format: ExpositionFormat): string {
  registry.collect();
  let out = '';
  for (const m of registry.metrics) if (m.series.size > 0) out += metricLines(m, format);
  return format === 'openmetrics' ? `${out}# EOF\n` : out;
}
