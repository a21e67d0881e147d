#!/usr/bin/env node
// The portico CLI. Sources are TypeScript; tsx loads them without a separate compile step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli.ts');
process.exitCode = await main(process.argv.slice(2));
