/**
 * `portico build` and `portico deploy` as CLI commands: argument checks, progress lines, and
 * errors printed the same way `portico validate` prints them.
 */
import { relative } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { isTargetName, runBuild, TARGETS } from './build/index.ts';

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

export async function runBuildCommand(options: { target?: string; config?: string; out?: string }): Promise<number> {
  if (!options.target || !isTargetName(options.target)) {
    err(
      `--target: expected one of ${TARGETS.join(', ')}, got ${options.target === undefined ? 'nothing' : `"${options.target}"`}`,
    );
    return 2;
  }
  try {
    const result = await runBuild({
      target: options.target,
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...(options.out !== undefined ? { out: options.out } : {}),
      onProgress: (m) => out(`  ${m}`),
    });
    out(
      `built ${result.target} in ${(result.durationMs / 1000).toFixed(1)} s → ${relative(process.cwd(), result.outDir) || '.'}`,
    );
    for (const f of result.files) out(`  ${f.path.padEnd(48)} ${formatBytes(f.bytes)}`);
    out(`main: ${relative(process.cwd(), result.main)}`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return 1;
    }
    err(`build failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

export async function runDeployCommand(options: { target?: string; dryRun?: boolean; out?: string }): Promise<number> {
  if (!options.target || !isTargetName(options.target)) {
    err(
      `--target: expected one of ${TARGETS.join(', ')}, got ${options.target === undefined ? 'nothing' : `"${options.target}"`}`,
    );
    return 2;
  }
  const { runDeploy, DeployError } = await import('./deploy.ts');
  try {
    const result = await runDeploy({
      target: options.target,
      dryRun: options.dryRun === true,
      ...(options.out !== undefined ? { out: options.out } : {}),
    });
    return result.executed ? (result.exitCode ?? 1) : 0;
  } catch (e) {
    if (e instanceof DeployError) {
      err(e.message);
      return 1;
    }
    throw e;
  }
}
