/**
 * vercel: a Build Output API v3 tree, ready for `vercel deploy --prebuilt` from `dist/vercel`:
 *
 *   .vercel/output/config.json                       version 3, every path to the function
 *   .vercel/output/functions/index.func/.vc-config.json   { runtime: "edge", entrypoint }
 *   .vercel/output/functions/index.func/index.js     the bundle; imports ./portico.wasm?module
 *   .vercel/output/functions/index.func/portico.wasm
 */
import { join } from 'node:path';
import { bundleTarget } from '../bundle.ts';
import type { TargetRecipe } from '../types.ts';
import { copyHotWasm, writeJson } from './files.ts';

/** Where the function lives inside the output directory. */
export const VERCEL_FUNCTION_DIR = '.vercel/output/functions/index.func';

export const vercelRecipe: TargetRecipe = {
  target: 'vercel',
  async build(ctx) {
    const fnDir = join(ctx.outDir, VERCEL_FUNCTION_DIR);
    ctx.progress('bundling the Vercel Edge Function');
    await bundleTarget({
      root: ctx.root,
      entry: ctx.entry,
      outfile: join(fnDir, 'index.js'),
      compiled: ctx.compiled,
      platform: 'neutral',
      conditions: ['edge-light', 'worker', 'browser'],
      // Vercel compiles Wasm imported with `?module` ahead of time; Edge Functions may not
      // compile bytes at run time.
      hotModule: { kind: 'external', specifier: './portico.wasm?module' },
      minify: true,
      target: 'es2022',
    });
    await copyHotWasm(ctx.root, join(fnDir, 'portico.wasm'));
    await writeJson(join(fnDir, '.vc-config.json'), {
      runtime: 'edge',
      entrypoint: 'index.js',
    });
    await writeJson(join(ctx.outDir, '.vercel/output/config.json'), {
      version: 3,
      // The gateway owns every path, /health included.
      routes: [{ src: '/(.*)', dest: '/index' }],
    });
    return {
      main: `${VERCEL_FUNCTION_DIR}/index.js`,
      budgeted: [`${VERCEL_FUNCTION_DIR}/index.js`, `${VERCEL_FUNCTION_DIR}/portico.wasm`],
    };
  },
};
