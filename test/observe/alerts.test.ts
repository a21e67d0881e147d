/**
 * The example alerting rules (alerts/portico.rules.yml): valid for Prometheus (`promtool check
 * rules`), and firing as their unit tests say (`promtool test rules`): error ratio and p99 by
 * region, breaker open, cache hit ratio drop; and every metric they read is one the gateway exports.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { GatewayMetrics } from '../../core/observe/index.ts';

const dir = fileURLToPath(new URL('../../alerts/', import.meta.url));
const promtool = (...args: string[]) => spawnSync('/usr/bin/promtool', args, { cwd: dir, encoding: 'utf8' });

describe('alerts/portico.rules.yml', () => {
  it('passes promtool check rules', () => {
    const r = promtool('check', 'rules', 'portico.rules.yml');
    expect(r.stdout + r.stderr).toContain('SUCCESS: 7 rules found');
    expect(r.status).toBe(0);
  });

  it('fires and stays quiet as its promtool unit tests expect', () => {
    const r = promtool('test', 'rules', 'portico.rules.test.yml');
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('reads only metrics the gateway exports', async () => {
    const config = await compileConfig({
      origins: { o: { url: 'http://127.0.0.1:1' } },
      routes: [{ match: { path: '/' }, upstream: 'o' }],
    });
    const m = new GatewayMetrics(config, Date.now);
    const exported = new Set(
      m.registry.metrics.flatMap((x) =>
        x.kind === 'counter' ? [`${x.name}_total`] : x.kind === 'histogram' ? [`${x.name}_bucket`] : [x.name],
      ),
    );
    const rules = readFileSync(`${dir}portico.rules.yml`, 'utf8');
    const used = new Set([...rules.matchAll(/\b(portico_[a-z_]+)\b/g)].map((x) => x[1] as string));
    expect(used.size).toBeGreaterThan(3);
    for (const name of used) expect(exported, name).toContain(name);
  });
});
