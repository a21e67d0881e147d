// Loads portico's TypeScript sources without a compile step: tsx for resolution and for files
// outside this package, ts-hooks.mjs (registered last, so it runs first) for the package's own.
// Used by the CLI and by the benchmarks' servers: `node --import ./scripts/bin/register.mjs`.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

register();
registerHooks('./ts-hooks.mjs', import.meta.url);
process.setSourceMapsEnabled(true);
