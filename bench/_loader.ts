import { fileURLToPath } from 'node:url';

/**
 * What every Node process of the benchmarks loads with `--import`: the hooks the CLI runs the
 * gateway with (scripts/bin/register.mjs), so that a server measured here is compiled as
 * `portico dev` compiles it, and the reference servers the same way.
 */
export const TS_LOADER = fileURLToPath(new URL('../scripts/bin/register.mjs', import.meta.url));
