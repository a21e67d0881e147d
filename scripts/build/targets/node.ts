/**
 * node: `dist/node/server.mjs`, a single bundled ES module that `node server.mjs` runs, with the
 * hot-path Wasm next to it. Not minified: a server's stack traces should stay readable.
 */
import { join } from 'node:path';
import { bundleTarget } from '../bundle.ts';
import type { TargetRecipe } from '../types.ts';
import { copyHotWasm, copyJsStringWasm, writeJson } from './files.ts';

/** The version of @redis/client the Node target is tested with (the repository's own). */
const REDIS_CLIENT_VERSION = '6.3.1';

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
    await copyJsStringWasm(ctx.root, ctx.outDir);
    await writeJson(join(ctx.outDir, 'package.json'), {
      name: ctx.serviceName,
      private: true,
      type: 'module',
      engines: { node: '>=20.18' },
      scripts: { start: 'node server.mjs' },
      // The Redis client is loaded only when the config names a Redis (stores.redis), and is not
      // bundled (it would add about a megabyte to every Node build): `npm install` here brings it.
      ...(ctx.compiled.routes.some((r) => r.policies.some((p) => p.name === 'rateLimit'))
        ? { dependencies: { '@redis/client': REDIS_CLIENT_VERSION } }
        : {}),
    });
    return { main: 'server.mjs', budgeted: ['server.mjs', 'portico.wasm'] };
  },
};
