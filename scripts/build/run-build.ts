/**
 * `portico build --target T`: validate and compile the config once, at build time, then let the
 * target's recipe bundle the one core (esbuild) and lay out the platform's artifact.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { compileConfig } from '../../core/config/index.ts';
import { ConfigError } from '../../core/errors.ts';
import { findConfigFile, loadConfigFile } from '../config-file.ts';
import { assertNeedsMet } from './needs.ts';
import { REPO_ROOT } from './root.ts';
import { cloudflareRecipe } from './targets/cloudflare.ts';
import { denoRecipe } from './targets/deno.ts';
import { fastlyRecipe } from './targets/fastly.ts';
import { HOT_WASM, HOT_WASM2JS } from './targets/files.ts';
import { nodeRecipe } from './targets/node.ts';
import { vercelRecipe } from './targets/vercel.ts';
import { wasiRecipe } from './targets/wasi.ts';
import type { ArtifactFile, BuildOptions, BuildResult, RecipeContext, TargetName, TargetRecipe } from './types.ts';

export const RECIPES: Record<TargetName, TargetRecipe> = {
  node: nodeRecipe,
  deno: denoRecipe,
  vercel: vercelRecipe,
  cloudflare: cloudflareRecipe,
  fastly: fastlyRecipe,
  wasi: wasiRecipe,
};

/** Written into every output directory; its presence makes the directory safe to clear on rebuild. */
export const BUILD_MARKER = '.portico-build.json';

/** Internal options, for tests of the build itself. */
export interface InternalBuildOptions extends BuildOptions {
  /** Bundle entry relative to the repo root, instead of `targets/<target>/entry.ts`. */
  entry?: string;
}

async function ensureHotPath(root: string, progress: (m: string) => void): Promise<void> {
  if (existsSync(join(root, HOT_WASM)) && existsSync(join(root, HOT_WASM2JS))) return;
  progress('building the hot path (npm run build:wasm)');
  const code = await new Promise<number>((done, fail) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'build-wasm.mjs')], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', fail);
    child.on('close', (c) => done(c ?? 1));
  });
  if (code !== 0) throw new Error(`building the hot path failed (exit ${code})`);
}

/** Empties `outDir`, refusing to clear a non-empty directory that a previous build did not write. */
async function prepareOutDir(outDir: string): Promise<void> {
  if (existsSync(outDir)) {
    const entries = await readdir(outDir);
    if (entries.length > 0 && !entries.includes(BUILD_MARKER)) {
      throw new Error(`${outDir} is not empty and was not written by portico build: choose another --out`);
    }
    await rm(outDir, { recursive: true, force: true });
  }
  await mkdir(outDir, { recursive: true });
}

async function listFiles(dir: string, base = dir): Promise<ArtifactFile[]> {
  const files: ArtifactFile[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full, base)));
    else files.push({ path: relative(base, full), bytes: (await stat(full)).size });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Resolves the config file: the one named, else the first default one in the working directory. */
function resolveConfigPath(config: string | undefined): string {
  if (config !== undefined) return resolve(config);
  const found = findConfigFile();
  if (!found) {
    throw new ConfigError(
      [
        {
          path: '',
          message:
            'no config file given (--config F), and none of portico.config.{json,ts,mjs,js} is in this directory: portico init writes a starter one',
        },
      ],
      process.cwd(),
    );
  }
  return found;
}

/**
 * Builds one target.
 * @throws ConfigError (with every error and its path, as `portico validate` prints them) when the
 * config is invalid; nothing is written then.
 * @example
 * const result = await runBuild({ target: 'cloudflare', config: 'portico.config.json', onProgress: console.log });
 * console.log(result.main, result.budgetedBytes);
 */
export async function runBuild(options: InternalBuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => {});
  const recipe = RECIPES[options.target];
  if (!recipe) throw new Error(`unknown target "${String(options.target)}" (expected one of ${Object.keys(RECIPES).join(', ')})`);

  const configPath = resolveConfigPath(options.config);
  progress(`validating ${relative(process.cwd(), configPath) || configPath}`);
  const compiled = await compileConfig(await loadConfigFile(configPath), configPath);
  for (const w of compiled.warnings) progress(`warning: ${w.path ? `${w.path}: ` : ''}${w.message}`);
  // Before anything is written: a route that needs what the target cannot give fails here.
  assertNeedsMet(compiled, options.target);

  const root = REPO_ROOT;
  await ensureHotPath(root, progress);
  const outDir = resolve(options.out ?? join('dist', options.target));
  await prepareOutDir(outDir);

  const context: RecipeContext = {
    root,
    outDir,
    compiled,
    entry: options.entry ?? `targets/${options.target}/entry.ts`,
    serviceName: 'portico',
    progress,
  };
  const { main, budgeted } = await recipe.build(context);

  const configHash = (compiled as { hash?: unknown }).hash;
  await writeFile(
    join(outDir, BUILD_MARKER),
    JSON.stringify({ target: options.target, config: basename(configPath), configHash, main }, null, 2) + '\n',
  );
  const files = await listFiles(outDir);
  const budgetedBytes = budgeted.reduce((sum, path) => sum + (files.find((f) => f.path === path)?.bytes ?? 0), 0);
  const result: BuildResult = {
    target: options.target,
    outDir,
    main: join(outDir, main),
    files,
    budgetedBytes,
    durationMs: Math.round(performance.now() - started),
  };
  progress(
    `built ${options.target} in ${(result.durationMs / 1000).toFixed(1)} s: ${relative(process.cwd(), result.main)} (${budgetedBytes} budgeted bytes)`,
  );
  return result;
}

/** Reads the marker a build left in `outDir`, or null when there is none. */
export async function readBuildMarker(outDir: string): Promise<{ target: TargetName; main: string } | null> {
  try {
    return JSON.parse(await readFile(join(outDir, BUILD_MARKER), 'utf8')) as { target: TargetName; main: string };
  } catch {
    return null;
  }
}
