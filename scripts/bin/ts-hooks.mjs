/**
 * Module hooks that compile portico's own TypeScript files with esbuild, in front of tsx (see
 * register.mjs): files of this package outside node_modules. Everything else (resolution, the
 * user's config files, which scripts/config-file.ts loads with tsx's tsImport, other packages)
 * stays with tsx.
 *
 * Why not tsx alone: tsx always compiles with esbuild's `keepNames`, which wraps every function
 * expression in a helper that sets the function's `name` with Object.defineProperty each time
 * the expression is evaluated, so every closure the gateway makes per request pays for a
 * defineProperty. Measured in CPU profiles of the Node target under load: about 7 µs a request
 * on a forwarded GET and 11 µs on a cache miss (Node 20). Compiling one file at a time, esbuild
 * renames nothing, so names stay right without the helper.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform, transformSync } from 'esbuild';

const ROOT = new URL('../../', import.meta.url).href;
const OPTIONS = {
  loader: 'ts',
  format: 'esm',
  target: `node${process.versions.node}`,
  sourcemap: 'inline',
  // The compiler options of tsconfig.json that change the output (tsx reads the same).
  tsconfigRaw: { compilerOptions: { target: 'ES2022', verbatimModuleSyntax: true } },
};

const ours = (url) => url.startsWith(ROOT) && url.endsWith('.ts') && !url.includes('/node_modules/');

/** For module.register (Node 20): the hooks run on the loader thread. */
export async function load(url, context, next) {
  if (!ours(url)) return next(url, context);
  const path = fileURLToPath(url);
  const { code } = await transform(await readFile(path, 'utf8'), { ...OPTIONS, sourcefile: path });
  return { format: 'module', source: code, shortCircuit: true };
}

/**
 * For module.registerHooks (Node 22.15+ and 24), where tsx registers its own hooks in-thread too:
 * hooks of that kind run before module.register's, so ours must be of that kind to come first.
 */
export function loadSync(url, context, next) {
  if (!ours(url)) return next(url, context);
  const path = fileURLToPath(url);
  const { code } = transformSync(readFileSync(path, 'utf8'), { ...OPTIONS, sourcefile: path });
  return { format: 'module', source: code, shortCircuit: true };
}
