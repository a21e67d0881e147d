/**
 * Entry of the bundled Node server, `dist/node/server.mjs` (built by `portico build --target node`).
 * The config was validated and compiled at build time and is embedded; the hot-path Wasm sits
 * next to the bundle as `portico.wasm`.
 *
 * Environment: PORT (default 8787), HOST (default 127.0.0.1; set 0.0.0.0 in a container).
 * SIGTERM and SIGINT drain requests in flight before exiting.
 */
import { readFileSync } from 'node:fs';
import compiled from 'portico:config';
import { instantiateHot } from '../../core/hot/index.ts';
import { startNodeServer } from './server.ts';

const port = Number(process.env['PORT'] ?? 8787);
const host = process.env['HOST'] ?? '127.0.0.1';
const hot = instantiateHot(new WebAssembly.Module(readFileSync(new URL('./portico.wasm', import.meta.url))));

const server = await startNodeServer(compiled, { port, host, hot });
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
