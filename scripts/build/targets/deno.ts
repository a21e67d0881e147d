/**
 * deno: `dist/deno/main.js`, an ES module whose default export is `{ fetch }` (for `deno serve`
 * and Deno Deploy), the hot-path Wasm next to it, and `deno.json` with the serve task, the KV
 * flag and the deploy entrypoint.
 */
import { join } from 'node:path';
import { bundleTarget } from '../bundle.ts';
import type { TargetRecipe } from '../types.ts';
import { copyHotWasm, copyJsStringWasm, writeJson } from './files.ts';

/** Flags `deno serve` needs: outgoing fetch to origins, reading portico.wasm next to main.js. */
export const DENO_SERVE_FLAGS = ['--allow-net', '--allow-read=.'] as const;

export const denoRecipe: TargetRecipe = {
  target: 'deno',
  async build(ctx) {
    ctx.progress('bundling main.js for Deno');
    await bundleTarget({
      root: ctx.root,
      entry: ctx.entry,
      outfile: join(ctx.outDir, 'main.js'),
      compiled: ctx.compiled,
      platform: 'neutral',
      conditions: ['deno', 'worker', 'browser'],
      hotModule: { kind: 'none' },
      minify: true,
      target: 'es2022',
    });
    await copyHotWasm(ctx.root, join(ctx.outDir, 'portico.wasm'));
    await copyJsStringWasm(ctx.root, ctx.outDir);
    await writeJson(join(ctx.outDir, 'deno.json'), {
      // Deno KV is the KV store when it can be opened (always on Deno Deploy). no-legacy-abort:
      // request.signal aborts only when the client goes away (what core listens for), not after
      // every successful response, and Deno no longer warns about it on the first request.
      unstable: ['kv', 'no-legacy-abort'],
      tasks: {
        start: `deno serve ${DENO_SERVE_FLAGS.join(' ')} --host 0.0.0.0 --port 8000 main.js`,
      },
      deploy: {
        project: ctx.serviceName,
        entrypoint: 'main.js',
        include: ['main.js', 'portico.wasm', 'deno.json'],
      },
    });
    return { main: 'main.js', budgeted: ['main.js', 'portico.wasm'] };
  },
};
