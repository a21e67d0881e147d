/** The CounterStore contract on real Deno (Deno KV) and on Durable Objects under miniflare. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe } from 'vitest';
import { runCounterStoreCases } from './counter-cases.ts';
import { relayCounterStore } from './_relay.ts';

describe('Deno KV counters (real deno, --unstable-kv)', () => {
  let child: ChildProcess;
  let base = '';
  beforeAll(async () => {
    const deno = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
    const host = fileURLToPath(new URL('./deno-counter-host.ts', import.meta.url));
    child = spawn(deno, ['run', '--unstable-kv', '--allow-net=127.0.0.1', '--allow-read', '--quiet', host], {
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
  runCounterStoreCases({
    make: () => relayCounterStore((path, body) => fetch(base + path, { method: 'POST', body: JSON.stringify(body) })),
    concurrency: 80,
  });
});

describe('Durable Object counters (miniflare)', () => {
  let mf: Miniflare;
  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('./do-counter-worker.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      write: false,
      platform: 'neutral',
    });
    mf = new Miniflare({
      modules: true,
      script: bundle.outputFiles[0]!.text,
      compatibilityDate: '2025-01-01',
      durableObjects: { PORTICO_COUNTERS: 'PorticoCounters' },
    });
    await mf.ready;
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });
  runCounterStoreCases({
    make: () =>
      relayCounterStore(
        (path, body) =>
          mf.dispatchFetch(`http://worker.test${path}`, {
            method: 'POST',
            body: JSON.stringify(body),
          }) as unknown as Promise<Response>,
      ),
    concurrency: 80,
  });
});
