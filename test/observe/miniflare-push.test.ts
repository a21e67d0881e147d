/**
 * Push from an isolate: the Cloudflare build under miniflare 4 sends its spans and metrics as
 * OTLP/HTTP JSON from waitUntil to a loopback receiver (nothing can scrape an isolate), and a
 * receiver that is down costs the requests nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuild } from '../../scripts/build/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { attr, type Collector, hex, startCollector } from './_collector.ts';

let dir: string;
let echo: EchoOrigin;
let collector: Collector;
let mf: Miniflare;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-mf-otlp-'));
  echo = await startEchoOrigin({ region: 'edge' });
  collector = await startCollector();
  const config = join(dir, 'portico.config.json');
  await writeFile(
    config,
    JSON.stringify({
      origins: { echo: { url: echo.url, region: 'edge' } },
      routes: [{ id: 'api', match: { path: '/api/*' }, upstream: 'echo' }],
      observability: {
        tracing: { sampleRatio: 1 },
        otlp: { endpoint: collector.url, intervalMs: 1, maxBatch: 50, timeoutMs: 2000 },
      },
    }),
  );
  const build = await runBuild({ target: 'cloudflare', config, out: join(dir, 'out') });
  mf = new Miniflare({
    modules: true,
    scriptPath: build.main,
    modulesRoot: build.outDir,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-01-01',
  });
  await mf.ready;
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await echo?.close();
  await collector?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

describe('OTLP push from a Workers isolate (miniflare)', () => {
  it('sends the spans and metrics of its requests from waitUntil', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await mf.dispatchFetch(`http://gw.test/api/w${i}`);
      expect(res.status).toBe(200);
      await res.text();
      // A push rides on a request: leave the previous one time to finish (one at a time).
      await new Promise((r) => setTimeout(r, 200));
    }
    await until(() => collector.spans().filter((s) => s.kind === 2).length >= 2 && collector.metrics.length > 0);
    const servers = collector.spans().filter((s) => s.kind === 2);
    expect(servers.length).toBeGreaterThanOrEqual(2);
    expect(attr(servers[0]?.attributes ?? [], 'portico.route')).toBe('api');
    const metrics = collector.metrics.at(-1)?.resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics ?? [];
    const requests = metrics.find((m) => m.name === 'portico_requests');
    const counted = requests?.sum?.dataPoints?.reduce((n, p) => n + (p.asDouble ?? 0), 0) ?? 0;
    expect(counted).toBeGreaterThanOrEqual(1);
    // The origin got the same trace as the spans name.
    const tp = echo.seen.at(-1)?.headers['traceparent'];
    expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const origin = echo.seen.map((r) => String(r.headers['traceparent'] ?? '').slice(3, 35));
    for (const s of servers) expect(origin).toContain(hex(s.traceId));
    expect(collector.rejected).toEqual([]);
  }, 30_000);

  it('answers at once while the receiver hangs', async () => {
    collector.mode = 'hang';
    // A request that waited for its push would take the exporter's whole timeout (2 s): each one
    // must come in well under it. Timed one by one, not as a sum, so that a loaded machine's
    // slower requests do not add up to a false failure.
    const took: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const res = await mf.dispatchFetch(`http://gw.test/api/h${i}`);
      expect(res.status).toBe(200);
      await res.text();
      took.push(Date.now() - started);
    }
    expect(Math.max(...took), `request times ${took.join(', ')} ms`).toBeLessThan(1500);
    collector.mode = 'ok';
  }, 30_000);
});
