/**
 * Entry of the bundled Node server, `dist/node/server.mjs` (built by `portico build --target node`).
 * The config was validated and compiled at build time and is embedded; the hot-path Wasm sits
 * next to the bundle as `portico.wasm`, and the js-string build as `portico.js-string.wasm`, used
 * where this Node links JS String Builtins (Node 24 does; Node 20 does not).
 *
 * Environment: PORT (default 8787), HOST (default 127.0.0.1; set 0.0.0.0 in a container), and
 * the client-side bounds of NodeServerOptions in milliseconds: PORTICO_REQUEST_BODY_IDLE_MS
 * (default 30000), PORTICO_WRITE_STALL_MS (default 30000), PORTICO_DRAIN_TIMEOUT_MS (default
 * 10000), PORTICO_DRAIN_GRACE_MS (default 5000) and PORTICO_CONNECTIONS_PER_ORIGIN (default 256);
 * PORTICO_NATIVE_RELAY=0 sends every origin body through a web stream (see NodeServerOptions.nativeRelay).
 * SIGTERM and SIGINT drain requests in flight before exiting.
 */
import { readFileSync } from 'node:fs';
import compiled from 'portico:config';
import { compileJsStringHot, instantiateHot } from '../../core/hot/index.ts';
import { startNodeServer } from './server.ts';

const port = Number(process.env['PORT'] ?? 8787);
const host = process.env['HOST'] ?? '127.0.0.1';
const hot = instantiateHot(loadHotModule());

/** The js-string build where this engine links it, else the plain one (a build without the file too). */
function loadHotModule(): WebAssembly.Module {
  try {
    const module = compileJsStringHot(readFileSync(new URL('./portico.js-string.wasm', import.meta.url)));
    if (module) return module;
  } catch {
    // Not beside the bundle: the plain build.
  }
  return new WebAssembly.Module(readFileSync(new URL('./portico.wasm', import.meta.url)));
}

/** A positive integer from the environment, or undefined (the option's default) when unset. */
function envNumber(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`portico: ${name} must be a positive integer, got "${text}"\n`);
    process.exit(2);
  }
  return n;
}

const bounds = {
  requestBodyIdleTimeoutMs: envNumber('PORTICO_REQUEST_BODY_IDLE_MS'),
  writeStallTimeoutMs: envNumber('PORTICO_WRITE_STALL_MS'),
  drainTimeoutMs: envNumber('PORTICO_DRAIN_TIMEOUT_MS'),
  drainGraceMs: envNumber('PORTICO_DRAIN_GRACE_MS'),
  connectionsPerOrigin: envNumber('PORTICO_CONNECTIONS_PER_ORIGIN'),
};
const given = Object.fromEntries(Object.entries(bounds).filter(([, v]) => v !== undefined));
const nativeRelay = process.env['PORTICO_NATIVE_RELAY'] !== '0';
const server = await startNodeServer(compiled, { port, host, hot, nativeRelay, ...given });
process.stderr.write(`portico listening on ${server.url}\n`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  const { abandoned } = await server.drain();
  process.exit(abandoned === 0 ? 0 : 1);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
