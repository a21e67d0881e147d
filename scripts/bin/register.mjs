// Loads portico's TypeScript sources without a compile step: tsx for resolution and for files
// outside this package, ts-hooks.mjs (registered last, so it runs first) for the package's own
// files in a checkout. Used by the CLI and by the benchmarks' servers. An installed package has
// no esbuild of its own (a dev dependency): then tsx alone loads everything.
import * as module from 'node:module';
import { register } from 'tsx/esm/api';

register();
let esbuild = false;
try {
  import.meta.resolve('esbuild');
  esbuild = true;
} catch {}
if (esbuild && typeof module.registerHooks === 'function') {
  // Where Node has in-thread hooks, tsx uses them, so ours are in-thread as well (ts-hooks.mjs).
  const { loadSync } = await import('./ts-hooks.mjs');
  module.registerHooks({ load: loadSync });
} else if (esbuild) {
  module.register('./ts-hooks.mjs', import.meta.url);
}
process.setSourceMapsEnabled(true);
