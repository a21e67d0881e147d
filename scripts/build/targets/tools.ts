/**
 * Runs the platform tools that come from npm (js-compute-runtime, the Fastly CLI) with progress,
 * and finds their binaries in node_modules/.bin.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Path of an npm-installed binary under the repository root, or null when it is not installed. */
export function npmBin(root: string, name: string): string | null {
  const file = join(root, 'node_modules', '.bin', name);
  return existsSync(file) ? file : null;
}

export interface ToolRun {
  code: number;
  output: string;
}

/** Runs a command to completion, capturing stdout and stderr together (no shell). */
export function runTool(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Calls `tick(seconds)` every `everyMs` until `promise` settles: progress for steps of several seconds. */
export async function withTicks<T>(promise: Promise<T>, tick: (seconds: number) => void, everyMs = 5000): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => tick(Math.round((Date.now() - started) / 1000)), everyMs);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}
