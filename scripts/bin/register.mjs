// Loads portico's TypeScript sources without a compile step: tsx for resolution and for files
// outside this package, ts-hooks.mjs (registered last, so it runs first) for the package's own.
// Used by the CLI and by the benchmarks' servers: `node --import ./scripts/bin/register.mjs`.
import * as module from 'node:module';
import { register } from 'tsx/esm/api';

register();
if (typeof module.registerHooks === 'function') {
  // Where Node has in-thread hooks, tsx uses them, so ours are in-thread as well (ts-hooks.mjs).
  const { loadSync } = await import('./ts-hooks.mjs');
  module.registerHooks({ load: loadSync });
} else {
  module.register('./ts-hooks.mjs', import.meta.url);
}
process.setSourceMapsEnabled(true);
