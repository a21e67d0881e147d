/**
 * The CacheStore contract suite against the Web Cache API store on the real runtimes: Deno's
 * `caches` (the npm `deno` binary) and Cloudflare's `caches.default` (workerd under miniflare).
 * The store runs there; the cases reach it over HTTP (_store-relay.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe } from 'vitest';
import { relayCacheStore } from './_store-relay.ts';
import { runCacheStoreCases } from './store-cases.ts';

describe('Deno caches (real deno)', () => {
  let child: ChildProcess;
  let base = '';
  beforeAll(async () => {
    const deno = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
    const host = fileURLToPath(new URL('./deno-cache-host.ts', import.meta.url));
    child = spawn(deno, ['run', '--allow-net=127.0.0.1', '--allow-read', '--quiet', host], {
      env: { ...process.env, DENO_DIR: mkdtempSync(join(tmpdir(), 'portico-deno-')), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`deno exited with ${code}`)));
    });
    base = `http://127.0.0.1:${port}`;
  }, 60_000);
  afterAll(() => {
    child?.kill();
  });
  const send = (path: string, init?: RequestInit) => fetch(base + path, init);
  runCacheStoreCases({
    make: () => relayCacheStore(send),
    advance: async (s) => void (await send(`/advance?s=${s}`, { method: 'POST' })).text(),
  });
});

describe('Cloudflare caches.default (miniflare)', () => {
  let mf: Miniflare;
  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('./cf-cache-worker.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      write: false,
      platform: 'neutral',
    });
    mf = new Miniflare({ modules: true, script: bundle.outputFiles[0]!.text, compatibilityDate: '2025-01-01' });
    await mf.ready;
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });
  const send = (path: string, init?: RequestInit) =>
    mf.dispatchFetch(`http://worker.test${path}`, init as never) as unknown as Promise<Response>;
  runCacheStoreCases({
    make: () => relayCacheStore(send),
    advance: async (s) => void (await send(`/advance?s=${s}`, { method: 'POST' })).text(),
  });
});
