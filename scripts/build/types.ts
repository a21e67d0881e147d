/**
 * Types shared by `runBuild`, the per-target recipes and `runDeploy`.
 */
import type { CompiledConfig } from '../../core/config/compile.ts';

/** Every target `portico build` knows, in the order the CLI lists them. */
export const TARGETS = ['node', 'deno', 'vercel', 'cloudflare', 'fastly', 'wasi'] as const;
export type TargetName = (typeof TARGETS)[number];

export function isTargetName(value: string): value is TargetName {
  return (TARGETS as readonly string[]).includes(value);
}

export interface BuildOptions {
  target: TargetName;
  /** Config file (JSON or a TS `defineConfig` module). Default: `portico.config.ts` or `portico.config.json` in the working directory. */
  config?: string;
  /** Output directory. Default: `dist/<target>` under the working directory. */
  out?: string;
  /** Called with one line per long step ("bundling", "componentizing (~20 s)"...). */
  onProgress?: (message: string) => void;
}

/** One file the build wrote, relative to the output directory. */
export interface ArtifactFile {
  path: string;
  bytes: number;
}

export interface BuildResult {
  target: TargetName;
  /** Absolute output directory. */
  outDir: string;
  /** The file a user runs or hands to the platform (absolute). */
  main: string;
  /** Every file written, relative to outDir, sorted. */
  files: ArtifactFile[];
  /** Bytes that count against the target's size budget (see scripts/build/budgets.ts). */
  budgetedBytes: number;
  /** Milliseconds the build took. */
  durationMs: number;
}

/** What a recipe gets from `runBuild`. */
export interface RecipeContext {
  /** Repository root (absolute): where core/, targets/ and wasm/build/ live. */
  root: string;
  /** Absolute output directory, created empty. */
  outDir: string;
  compiled: CompiledConfig;
  /** Bundle entry, relative to root. Default `targets/<target>/entry.ts`; tests of the build may swap it. */
  entry: string;
  /** Name for the deployed service, derived from the config file name, e.g. `portico`. */
  serviceName: string;
  progress(message: string): void;
}

export interface RecipeResult {
  /** The file a user runs or hands to the platform, relative to outDir. */
  main: string;
  /** Files (relative to outDir) whose bytes count against the size budget. */
  budgeted: string[];
}

export interface TargetRecipe {
  target: TargetName;
  build(context: RecipeContext): Promise<RecipeResult>;
}
