/**
 * The Prometheus exposition of a running Node gateway: authenticated with the admin token, text
 * 0.0.4 or OpenMetrics by Accept, accepted by `promtool check metrics`, and scraped by a real
 * Prometheus server (Debian's) whose HTTP API then returns the counts the test sent.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../e2e/_harness.ts';
import { ADMIN_TOKEN, type Running, startObserved } from './_setup.ts';

const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

let run: Running;

beforeAll(async () => {
  run = await startObserved(
    { observability: { metrics: {} } },
    [
      { id: 'api', match: { path: '/api/*' }, upstream: 'eu' },
      { id: 'down', match: { path: '/down/*' }, upstream: 'gone' },
    ],
    { gone: { url: `http://127.0.0.1:${await closedPort()}`, region: 'us-east' } },
  );
}, 30_000);

afterAll(async () => {
  await run?.close();
});

function promtoolCheck(text: string): { status: number | null; out: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('/metrics', () => {
  it('answers 401 with WWW-Authenticate without the admin token, and with a wrong one', async () => {
    const none = await fetch(`${run.gw.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const wrong = await fetch(`${run.gw.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('portico_requests_total');
  });

  it('counts requests by route, method class, status class and region, in text 0.0.4 that promtool accepts', async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${run.gw.url}/api/x${i}`)).status).toBe(200);
    expect((await fetch(`${run.gw.url}/nothing-here`)).status).toBe(404);
    const res = await fetch(`${run.gw.url}/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^portico_requests_total\{route="api",method="GET",status_class="2xx",region="eu-west"\} 3$/m);
    expect(text).toMatch(/^portico_requests_total\{route="_unmatched",method="GET",status_class="4xx",region="none"\} 1$/m);
    expect(text).toMatch(
      /^portico_request_duration_seconds_count\{route="api",method="GET",status_class="2xx",region="eu-west"\} 3$/m,
    );
    expect(text).toMatch(/^portico_origin_attempts_total\{origin="eu",region="eu-west",outcome="ok"\} 3$/m);
    expect(text).toMatch(/^portico_config_info\{hash="sha256-[0-9a-f]{64}",version="1"\} 1$/m);
    // The scrape itself is in flight while it is answered.
    expect(text).toMatch(/^portico_requests_in_flight 1$/m);
    const check = promtoolCheck(text);
    expect(check.out).toBe('');
    expect(check.status).toBe(0);
  });

  // promtool reads text 0.0.4 only; the real Prometheus below asks for OpenMetrics first and parses it.
  it('answers OpenMetrics when Accept asks for it, with counter and info families, ending with # EOF', async () => {
    const res = await fetch(`${run.gw.url}/metrics`, {
      headers: { ...auth, accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
    });
    expect(res.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const text = await res.text();
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE portico_requests counter');
    expect(text).toContain('# TYPE portico_config info');
    expect(text).toMatch(/^portico_requests_total\{route="api",method="GET",status_class="2xx",region="eu-west"\} 3$/m);
  });

  it('keeps user input out of every label: methods, paths, headers and queries become fixed words', async () => {
    await fetch(`${run.gw.url}/api/${encodeURIComponent('"}evil{x="1')}?token=s3cr3t-query`, {
      method: 'PURGE',
      headers: { 'x-region': 'attacker-region', authorization: 'Bearer s3cr3t-token', 'cache-status': 'pwned' },
    });
    await fetch(`${run.gw.url}/down/x`, { headers: { 'x-probe-source': 'synthetic-monitor' } });
    const text = await (await fetch(`${run.gw.url}/metrics`, { headers: auth })).text();
    for (const bad of ['evil', 's3cr3t', 'attacker', 'PURGE', 'pwned', '/api/']) expect(text).not.toContain(bad);
    expect(text).toMatch(/^portico_requests_total\{route="api",method="other",status_class="[245]xx",region="[a-z-]+"\} 1$/m);
    expect(promtoolCheck(text).status).toBe(0);
  });
});

describe('a real Prometheus scraping the gateway', () => {
  let dir: string;
  let prom: ChildProcess | undefined;

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      prom.kill('SIGTERM');
      await new Promise((r) => prom?.once('exit', r));
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('returns through its query API the request count the test sent', async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-prom-'));
    const target = new URL(run.gw.url).host;
    await writeFile(join(dir, 'token'), ADMIN_TOKEN);
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: portico',
        '    metrics_path: /metrics',
        '    authorization:',
        `      credentials_file: ${join(dir, 'token')}`,
        '    static_configs:',
        `      - targets: ['${target}']`,
        '',
      ].join('\n'),
    );
    const port = await closedPort();
    prom = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    prom.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const sent = 17;
    for (let i = 0; i < sent; i++)
      expect((await fetch(`${run.gw.url}/api/scraped/${i}?q=${i}`, { method: 'POST', body: 'x' })).status).toBe(200);
    const query = encodeURIComponent('portico_requests_total{job="portico",route="api",method="POST",status_class="2xx"}');
    const deadline = Date.now() + 40_000;
    let value: string | undefined;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`);
        if (res.ok) {
          const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
          value = body.data.result[0]?.value[1];
          if (value !== undefined) break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(value, stderr.slice(-2000)).toBe(String(sent));
    const up = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('up{job="portico"}')}`);
    const upBody = (await up.json()) as { data: { result: { value: [number, string] }[] } };
    expect(upBody.data.result[0]?.value[1]).toBe('1');
    // Prometheus negotiated OpenMetrics (it asks for it first): the info family came through it.
    const info = await fetch(
      `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('portico_config_info{job="portico"}')}`,
    );
    const infoBody = (await info.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    expect(infoBody.data.result[0]?.metric['hash']).toBe(run.gw.gateway.config.hash);
  }, 60_000);
});
