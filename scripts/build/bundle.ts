/**
 * One esbuild call per target, from the one core. The compiled config and the hot path come in
 * through virtual modules (scripts/build/virtual-modules.d.ts), so a target entry says *what* it
 * needs and the recipe says *how* the platform delivers it.
 */
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import type { CompiledConfig } from '../../core/config/compile.ts';

/** How `portico:hot-module` reaches the bundle. */
export type HotModuleImport =
  /** Left as an import of this specifier, next to the bundle (`./portico.wasm`, `./portico.wasm?module`). */
  | { kind: 'external'; specifier: string }
  /** Not available on this target (the entry reads the file or uses wasm2js instead). */
  | { kind: 'none' };

export interface BundleOptions {
  /** Repository root (absolute). */
  root: string;
  /** Entry file, relative to the root, e.g. `targets/deno/entry.ts`. */
  entry: string;
  /** Output file (absolute). */
  outfile: string;
  compiled: CompiledConfig;
  /** `node` for the Node server; `neutral` for every Web-API runtime. */
  platform: 'node' | 'neutral';
  /** Package export conditions, most specific first, e.g. `['workerd', 'worker', 'browser']`. */
  conditions: string[];
  hotModule: HotModuleImport;
  /** Import specifiers left to the runtime, e.g. `fastly:*`. */
  external?: string[];
  /** Minify (edge targets: yes, their size is budgeted; Node: no, stack traces stay readable). */
  minify: boolean;
  /** ECMAScript version the runtime's engine takes, e.g. `es2022`. */
  target: string;
}

export interface BundleResult {
  outfile: string;
  bytes: number;
  warnings: string[];
}

const WASM2JS_FILE = 'wasm/build/portico.wasm2js.mjs';

function virtualModules(options: BundleOptions): esbuild.Plugin {
  return {
    name: 'portico-virtual-modules',
    setup(build) {
      build.onResolve({ filter: /^portico:config$/ }, () => ({ path: 'config', namespace: 'portico' }));
      build.onResolve({ filter: /^portico:hot-wasm2js$/ }, () => ({ path: 'hot-wasm2js', namespace: 'portico' }));
      build.onResolve({ filter: /^portico:hot-module$/ }, () => {
        if (options.hotModule.kind === 'none') {
          return { errors: [{ text: `portico:hot-module is not available for ${options.entry}` }] };
        }
        return { path: options.hotModule.specifier, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: 'portico' }, (args) => {
        if (args.path === 'config') {
          // A JSON string parsed once at start-up: faster to load than an object literal of the
          // same size, and the compiled config is plain JSON by contract.
          const json = JSON.stringify(JSON.stringify(options.compiled));
          return { contents: `export default JSON.parse(${json});`, loader: 'js' };
        }
        const file = join(options.root, WASM2JS_FILE);
        return {
          contents: `import * as hot from ${JSON.stringify(file)};\nexport default hot;`,
          loader: 'js',
          resolveDir: options.root,
        };
      });
    },
  };
}

/** Bundles one target entry into one ES module. */
export async function bundleTarget(options: BundleOptions): Promise<BundleResult> {
  const result = await esbuild.build({
    absWorkingDir: options.root,
    entryPoints: [join(options.root, options.entry)],
    outfile: options.outfile,
    bundle: true,
    format: 'esm',
    platform: options.platform,
    target: options.target,
    conditions: options.conditions,
    mainFields: options.platform === 'node' ? ['module', 'main'] : ['browser', 'module', 'main'],
    external: options.external ?? [],
    minify: options.minify,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
    plugins: [virtualModules(options)],
    // CommonJS dependencies bundled into an ES module on Node still call `require` for builtins.
    banner:
      options.platform === 'node'
        ? {
            js: "import { createRequire as __porticoCreateRequire } from 'node:module';\nconst require = __porticoCreateRequire(import.meta.url);",
          }
        : {},
  });
  const output = Object.entries(result.metafile?.outputs ?? {}).find(([, o]) => o.entryPoint !== undefined);
  return {
    outfile: options.outfile,
    bytes: output?.[1].bytes ?? 0,
    warnings: result.warnings.map((w) => w.text),
  };
}
