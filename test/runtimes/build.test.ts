/**
 * `runBuild` itself: a bad config fails the build with every error and its path (as `portico
 * validate` prints them) before anything is written, and an output folder that a build did not
 * write is never cleared.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.ts';
import { runBuild } from '../../scripts/build/index.ts';
import { CONFORMANCE_CONFIG } from './_suite.ts';

describe('portico build', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-build-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fails on a bad config with every error and its path, and writes nothing', async () => {
    const config = join(dir, 'bad.json');
    await writeFile(
      config,
      JSON.stringify({
        origins: { a: { url: 'ftp://x', region: 'eu' } },
        routes: [{ match: { path: '/x' }, upstream: 'missing', timeoutMs: -5 }],
      }),
    );
    const out = join(dir, 'out-bad');
    const error = await runBuild({ target: 'cloudflare', config, out }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('bad.json');
    expect(message).toContain('origins.a.url');
    expect(message).toContain('routes[0].timeoutMs');
    expect(existsSync(out)).toBe(false);
  });

  it('embeds the compiled config: the bundle carries its hash and no config file is needed at run time', async () => {
    const out = join(dir, 'out-cf');
    const result = await runBuild({ target: 'cloudflare', config: CONFORMANCE_CONFIG, out });
    const marker = JSON.parse(await readFile(join(out, '.portico-build.json'), 'utf8')) as { configHash: string };
    expect(marker.configHash).toMatch(/^sha256-/);
    expect(await readFile(result.main, 'utf8')).toContain(marker.configHash);
    expect(result.files.map((f) => f.path)).toEqual([
      '.portico-build.json',
      'portico.wasm',
      'worker.mjs',
      'workerd.capnp',
      'wrangler.toml',
    ]);
  });

  it('refuses to clear a non-empty folder that no build wrote', async () => {
    const out = join(dir, 'precious');
    await mkdir(out);
    await writeFile(join(out, 'keep.txt'), 'mine');
    await expect(runBuild({ target: 'deno', config: CONFORMANCE_CONFIG, out })).rejects.toThrow(
      /not empty and was not written by portico build/,
    );
    expect(await readFile(join(out, 'keep.txt'), 'utf8')).toBe('mine');
  });
});
