/**
 * `portico deploy`: which platform command runs on which artifact, what --dry-run prints, and the
 * message when the platform tool is missing. Deploys are not executed (no network here).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuild } from '../../scripts/build/index.ts';
import { DeployError, findTool, runDeploy } from '../../scripts/deploy.ts';
import { CONFORMANCE_CONFIG } from './_suite.ts';

describe('portico deploy', () => {
  let dir = '';
  const out = (t: string) => join(dir, t);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-deploy-'));
    for (const target of ['cloudflare', 'vercel', 'deno', 'node'] as const) {
      await runBuild({ target, config: CONFORMANCE_CONFIG, out: out(target) });
    }
  }, 60_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run prints the exact platform command and the folder it runs in, without running it', async () => {
    const lines: string[] = [];
    const cf = await runDeploy({ target: 'cloudflare', dryRun: true, out: out('cloudflare'), onOutput: (l) => lines.push(l) });
    expect(cf.executed).toBe(false);
    expect(cf.cwd).toBe(out('cloudflare'));
    expect(lines[0]).toMatch(/&& wrangler deploy\)$/);
    const vercel = await runDeploy({ target: 'vercel', dryRun: true, out: out('vercel'), onOutput: (l) => lines.push(l) });
    expect(vercel.printable).toMatch(/&& vercel deploy --prebuilt\)$/);
    const deno = await runDeploy({ target: 'deno', dryRun: true, out: out('deno'), onOutput: () => {} });
    expect(deno.printable).toMatch(/&& deployctl deploy --prod\)$/);
  });

  it('names the missing tool and how to install it', async () => {
    // wrangler is not a dependency of portico; with an empty PATH it cannot be found anywhere.
    const saved = process.env['PATH'];
    process.env['PATH'] = '';
    try {
      expect(findTool('wrangler')).toBeNull();
      await expect(
        runDeploy({ target: 'cloudflare', dryRun: false, out: out('cloudflare'), onOutput: () => {} }),
      ).rejects.toThrow(
        /wrangler is not installed: install it with `npm i -D wrangler@4\.86`.*Then run: \(cd .* && wrangler deploy\)/,
      );
    } finally {
      process.env['PATH'] = saved;
    }
  });

  it('refuses a folder without a build, or with another target in it', async () => {
    await expect(runDeploy({ target: 'vercel', dryRun: true, out: join(dir, 'nothing') })).rejects.toThrow(
      /no build in .*run `portico build --target vercel` first/,
    );
    await expect(runDeploy({ target: 'vercel', dryRun: true, out: out('cloudflare') })).rejects.toThrow(
      /holds a cloudflare build, not vercel/,
    );
  });

  it('says that node has no platform step and how to run the server instead', async () => {
    const run = runDeploy({ target: 'node', dryRun: true, out: out('node') });
    await expect(run).rejects.toBeInstanceOf(DeployError);
    await expect(runDeploy({ target: 'node', dryRun: true, out: out('node') })).rejects.toThrow(/node server\.mjs/);
  });
});
