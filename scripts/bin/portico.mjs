#!/usr/bin/env node
// The portico CLI. Sources are TypeScript, loaded without a separate compile step (register.mjs).
import './register.mjs';

const { main } = await import('../cli.ts');
process.exitCode = await main(process.argv.slice(2));
