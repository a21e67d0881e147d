/**
 * /metrics on Deno: the deno build under the real `deno serve` answers the authenticated
 * exposition with the requests it served, in text that promtool accepts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuild } from '../../scripts/build/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { RUNTIMES, type RunningRuntime, type RuntimeSpec, startRuntime } from '../runtimes/_runtimes.ts';

const TOKEN = 'deno-metrics-admin-token-0123456789abcdef';
let dir: string;
let echo: EchoOrigin;
let deno: RunningRuntime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-deno-metrics-'));
  echo = await startEchoOrigin({ region: 'eu-west' });
  const config = join(dir, 'portico.config.json');
  await writeFile(
    config,
    JSON.stringify({
      origins: { eu: { url: echo.url, region: 'eu-west' } },
      admin: { token: { env: 'PORTICO_OBSERVE_ADMIN' } },
      routes: [{ id: 'api', match: { path: '/api/*' }, upstream: 'eu' }],
      observability: { metrics: {} },
    }),
  );
  const build = await runBuild({ target: 'deno', config, out: join(dir, 'out') });
  process.env['PORTICO_OBSERVE_ADMIN'] = TOKEN;
  // Deno reads an environment variable only with --allow-env naming it, as a user runs it.
  const spec: RuntimeSpec = {
    ...RUNTIMES.deno,
    command: (b, port) => {
      const c = RUNTIMES.deno.command(b, port);
      return { ...c, args: ['serve', '--allow-env=PORTICO_OBSERVE_ADMIN', ...c.args.slice(1)] };
    },
  };
  deno = await startRuntime(spec, build);
}, 120_000);

afterAll(async () => {
  await deno?.stop();
  await echo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('/metrics on Deno', () => {
  it('answers 401 without the admin token and the request counts with it, in text promtool accepts', async () => {
    for (let i = 0; i < 4; i++) expect((await fetch(`${deno.url}/api/d${i}`)).status).toBe(200);
    expect((await fetch(`${deno.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${deno.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status, deno.output().slice(-2000)).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^portico_requests_total\{route="api",method="GET",status_class="2xx",region="eu-west"\} 4$/m);
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});
