/**
 * wasi: a `wasi:http/proxy` component built by componentize-js 0.19.3 (StarlingMonkey, the same
 * kind of engine as Fastly's: SpiderMonkey in Wasm, no `WebAssembly`), for any wasi:http host.
 *
 *   build/index.js    the bundle (ES module, wasm2js hot path, a `fetch` event listener)
 *   wit/              the WIT it was built against
 *   gateway.wasm      the component; `jco serve --isolate-requests instance gateway.wasm` serves it
 *
 * componentize-js is pinned to 0.19.3: from 0.20 on, importing RSA and EC keys traps
 * (ComponentizeJS issue #334). The WIT must name the exact wasi:http version the engine exports
 * (`wasi:http/incoming-handler@0.2.3` in 0.19.3's StarlingMonkey), so the version is read from the
 * engine itself and jco's bundled wasi WIT is rewritten to it.
 */
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleTarget } from '../bundle.ts';
import type { RecipeContext, TargetRecipe } from '../types.ts';
import { withTicks } from './tools.ts';

const ENGINE = 'node_modules/@bytecodealliance/componentize-js/lib/starlingmonkey_embedding.wasm';
const JCO_WIT = 'node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12';
const JCO_WIT_VERSION = '0.2.12';

/** The wasi:http version the engine exports its incoming handler at, e.g. `0.2.3`. */
export async function engineWasiHttpVersion(root: string): Promise<string> {
  const engine = (await readFile(join(root, ENGINE))).toString('latin1');
  const found = /wasi:http\/incoming-handler@(\d+\.\d+\.\d+)#handle/.exec(engine);
  if (!found?.[1]) throw new Error(`${ENGINE} exports no wasi:http/incoming-handler: is componentize-js installed?`);
  return found[1];
}

async function rewriteWitVersions(dir: string, version: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    const file = join(dir, entry);
    if ((await stat(file)).isDirectory()) await rewriteWitVersions(file, version);
    else if (entry.endsWith('.wit')) {
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replaceAll(`@${JCO_WIT_VERSION}`, `@${version}`));
    }
  }
}

/** Lays out `wit/` as the wasi:http package with every other wasi package under `deps/`. */
async function prepareWit(ctx: RecipeContext, version: string): Promise<string> {
  const source = join(ctx.root, JCO_WIT);
  const witDir = join(ctx.outDir, 'wit');
  await mkdir(join(witDir, 'deps'), { recursive: true });
  for (const pkg of await readdir(source)) {
    const dest = pkg === 'wasi-http' ? witDir : join(witDir, 'deps', pkg);
    await cp(join(source, pkg), dest, { recursive: true });
  }
  await rewriteWitVersions(witDir, version);
  return witDir;
}

interface ComponentizeModule {
  componentize(options: {
    sourcePath: string;
    witPath: string;
    worldName: string;
    disableFeatures?: string[];
  }): Promise<{ component: Uint8Array }>;
}

export const wasiRecipe: TargetRecipe = {
  target: 'wasi',
  async build(ctx) {
    ctx.progress('bundling build/index.js for the WASI-HTTP component (wasm2js hot path)');
    const source = join(ctx.outDir, 'build', 'index.js');
    await bundleTarget({
      root: ctx.root,
      entry: ctx.entry,
      outfile: source,
      compiled: ctx.compiled,
      platform: 'neutral',
      conditions: ['worker', 'browser'],
      hotModule: { kind: 'none' },
      minify: true,
      target: 'es2022',
    });
    const version = await engineWasiHttpVersion(ctx.root);
    const witPath = await prepareWit(ctx, version);
    ctx.progress('componentizing gateway.wasm with componentize-js 0.19.3 (about 10-30 s)');
    // Imported by name at build time only: componentize-js is a devDependency of the build.
    const { componentize } = (await import('@bytecodealliance/componentize-js')) as unknown as ComponentizeModule;
    // componentize-js reads the WIT from inside Wasm, through preview2-shim's filesystem. From
    // preview2-shim 0.26 on, the guest gets no preopened directory by default, so open exactly
    // the WIT folder (0.19.3 was written against shims that preopened "/").
    const shim = (await import('@bytecodealliance/preview2-shim/filesystem')) as unknown as {
      _setPreopens(preopens: Record<string, string>): void;
    };
    shim._setPreopens({ [witPath]: witPath });
    const { component } = await withTicks(
      componentize({ sourcePath: source, witPath, worldName: `wasi:http/proxy@${version}` }),
      (s) => ctx.progress(`  componentize still running (${s} s)`),
    );
    await writeFile(join(ctx.outDir, 'gateway.wasm'), component);
    return { main: 'gateway.wasm', budgeted: ['build/index.js'] };
  },
};
