/**
 * node: `dist/node/server.mjs`, a single bundled ES module that `node server.mjs` runs, with the
 * hot-path Wasm next to it. Not minified: a server's stack traces should stay readable.
 */
import { join } from 'node:path';
import { bundleTarget } from '../bundle.ts';
import type { TargetRecipe } from '../types.ts';
import { copyHotWasm, writeJson } from './files.ts';

export const nodeRecipe: TargetRecipe = {
  target: 'node',
  async build(ctx) {
    ctx.progress('bundling server.mjs for Node 20');
    await bundleTarget({
      root: ctx.root,
      entry: ctx.entry,
      outfile: join(ctx.outDir, 'server.mjs'),
      compiled: ctx.compiled,
      platform: 'node',
      conditions: ['node'],
      hotModule: { kind: 'none' },
      minify: false,
      target: 'node20',
    });
    await copyHotWasm(ctx.root, join(ctx.outDir, 'portico.wasm'));
    await writeJson(join(ctx.outDir, 'package.json'), {
      name: ctx.serviceName,
      private: true,
      type: 'module',
      engines: { node: '>=20.18' },
      scripts: { start: 'node server.mjs' },
    });
    return { main: 'server.mjs', budgeted: ['server.mjs', 'portico.wasm'] };
  },
};
