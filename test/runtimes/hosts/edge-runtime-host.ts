/**
 * Serves the Vercel Edge Function from a `portico build --target vercel` tree in Vercel's
 * `edge-runtime` VM on 127.0.0.1, for the conformance suite. Usage:
 *   node --import tsx test/runtimes/hosts/edge-runtime-host.ts <func dir> <port>
 *
 * The emulator takes a service-worker script, not an ES module, and cannot resolve Vercel's
 * `./portico.wasm?module` import. So the function's own index.js is wrapped, unchanged, into a
 * script (esbuild, iife) whose `?module` import reads a `WebAssembly.Module` compiled here and
 * injected into the VM, the way Vercel hands it over compiled. Nothing else of the artifact changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { EdgeRuntime, runServer } from 'edge-runtime';

const [funcDir, portArg] = process.argv.slice(2);
if (!funcDir || !portArg) throw new Error('usage: edge-runtime-host.ts <func dir> <port>');
const vc = JSON.parse(readFileSync(join(funcDir, '.vc-config.json'), 'utf8')) as { runtime: string; entrypoint: string };
if (vc.runtime !== 'edge') throw new Error(`${funcDir} is not an edge function (runtime ${vc.runtime})`);

const wrapped = await esbuild.build({
  entryPoints: [join(funcDir, vc.entrypoint)],
  bundle: true,
  format: 'iife',
  globalName: '__porticoFunction',
  platform: 'neutral',
  write: false,
  logLevel: 'silent',
  plugins: [
    {
      name: 'vercel-wasm-module',
      setup(build) {
        build.onResolve({ filter: /\.wasm\?module$/ }, (args) => ({ path: args.path, namespace: 'wasm-module' }));
        build.onLoad({ filter: /.*/, namespace: 'wasm-module' }, (args) => ({
          contents: `export default globalThis.__porticoWasmModules[${JSON.stringify(args.path.replace(/\?module$/, ''))}];`,
          loader: 'js',
        }));
      },
    },
  ],
});
const script = wrapped.outputFiles[0]?.text ?? '';

const modules: Record<string, WebAssembly.Module> = {
  './portico.wasm': new WebAssembly.Module(readFileSync(join(funcDir, 'portico.wasm'))),
};

const runtime = new EdgeRuntime({
  initialCode: `${script}
addEventListener('fetch', (event) => {
  event.respondWith(__porticoFunction.default(event.request, { waitUntil: (p) => event.waitUntil(p) }));
});`,
  extend: (context) => Object.assign(context, { __porticoWasmModules: modules }),
});

// edge-runtime 4.0.1's server leaves a response body's stream error unhandled, and Node then
// exits. Vercel's platform is not this emulator: keep the stand-in serving, say what happened.
// (The conformance cases where an origin fails mid-body are excluded here, with the reason.)
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`edge-runtime host: the emulator left a rejection unhandled: ${String(reason)}\n`);
});

const server = await runServer({ runtime, port: Number(portArg), host: '127.0.0.1' });
process.stderr.write(`edge-runtime serving ${funcDir} on ${server.url}\n`);
const stop = (): void => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
