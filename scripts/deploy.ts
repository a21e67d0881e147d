/**
 * `portico deploy --target T [--dry-run]`: hands the artifact `portico build` wrote to the
 * platform's own deploy tool. portico never talks to a platform API itself; `--dry-run` prints the
 * exact command (and the folder it runs in) without running it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';
import { readBuildMarker } from './build/run-build.ts';
import { REPO_ROOT } from './build/root.ts';
import type { TargetName } from './build/types.ts';

export interface DeployOptions {
  target: TargetName;
  /** Print the command instead of running it. */
  dryRun: boolean;
  /** The build's output directory. Default: `dist/<target>` under the working directory. */
  out?: string;
  /** Where lines for the user go. Default: stdout. */
  onOutput?: (line: string) => void;
}

export interface DeployResult {
  target: TargetName;
  /** Folder the command runs in (the build output). */
  cwd: string;
  /** The command as argv; argv[0] is the tool's name, resolved to a path when it was found. */
  command: string[];
  /** The command as one shell-quoted line, as printed. */
  printable: string;
  /** Whether the tool was found (in node_modules/.bin or on PATH). */
  toolFound: boolean;
  /** False for --dry-run. */
  executed: boolean;
  /** The tool's exit code, or null when not executed. */
  exitCode: number | null;
}

/** A deploy that cannot start: no build, wrong build, no platform tool. The message says what to do. */
export class DeployError extends Error {
  override name = 'DeployError';
}

interface DeployStep {
  tool: string;
  args: string[];
  /** How to get the tool when it is missing. */
  install: string;
}

/** The platform tool per target, run inside the build's output directory. */
export const DEPLOY_STEPS: Record<TargetName, DeployStep | { none: string }> = {
  node: {
    none: 'Node has no platform deploy step: copy the folder to your host and run `node server.mjs` (PORT and HOST set the address).',
  },
  deno: {
    // deno.json carries deploy.project, deploy.entrypoint and deploy.include.
    tool: 'deployctl',
    args: ['deploy', '--prod'],
    install: 'install it with `deno install -gArf jsr:@deno/deployctl` (or use `deno deploy` from Deno 2.4+)',
  },
  vercel: {
    tool: 'vercel',
    args: ['deploy', '--prebuilt'],
    install: 'install it with `npm i -g vercel`',
  },
  cloudflare: {
    tool: 'wrangler',
    args: ['deploy'],
    install: 'install it with `npm i -D wrangler@4.86` (the newest wrangler that runs on Node 20)',
  },
  fastly: {
    tool: 'fastly',
    args: ['compute', 'deploy', '--package', 'pkg/portico.tar.gz'],
    install: 'install it with `npm i -D @fastly/cli` (portico already depends on it: run `npm ci`)',
  },
  wasi: {
    // Any wasi:http/proxy host serves the component; wasmtime is the reference one.
    tool: 'wasmtime',
    args: ['serve', '-Scli', 'gateway.wasm'],
    install: 'install wasmtime (https://wasmtime.dev), or serve it with `npx jco serve --isolate-requests instance gateway.wasm`',
  },
};

/** The tool's path: node_modules/.bin of this repo or of the working directory first, then PATH. */
export function findTool(name: string, path = process.env['PATH'] ?? ''): string | null {
  const dirs = [join(process.cwd(), 'node_modules', '.bin'), join(REPO_ROOT, 'node_modules', '.bin'), ...path.split(delimiter)];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Deploys (or with `dryRun`, shows how to deploy) the artifact of the last `portico build`.
 * @throws DeployError when there is no build of that target in `out`, the target has no platform
 * step (node), or the tool is missing and this is not a dry run
 * @example
 * await runDeploy({ target: 'cloudflare', dryRun: true });
 * // prints: (cd dist/cloudflare && wrangler deploy)
 */
export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const say = options.onOutput ?? ((line: string) => process.stdout.write(line + '\n'));
  const cwd = resolve(options.out ?? join('dist', options.target));
  const marker = await readBuildMarker(cwd);
  if (!marker) {
    throw new DeployError(
      `no build in ${relative(process.cwd(), cwd) || cwd}: run \`portico build --target ${options.target}\` first`,
    );
  }
  if (marker.target !== options.target) {
    throw new DeployError(
      `${relative(process.cwd(), cwd) || cwd} holds a ${marker.target} build, not ${options.target}: pass --out or rebuild`,
    );
  }
  const step = DEPLOY_STEPS[options.target];
  if ('none' in step) throw new DeployError(step.none);

  const found = findTool(step.tool);
  const command = [found ?? step.tool, ...step.args];
  const printable = `(cd ${shellQuote(relative(process.cwd(), cwd) || '.')} && ${[step.tool, ...step.args].map(shellQuote).join(' ')})`;
  const result: DeployResult = {
    target: options.target,
    cwd,
    command,
    printable,
    toolFound: found !== null,
    executed: false,
    exitCode: null,
  };
  if (options.dryRun) {
    say(printable);
    if (!found) say(`note: ${step.tool} is not installed here; ${step.install}`);
    return result;
  }
  if (!found) throw new DeployError(`${step.tool} is not installed: ${step.install}. Then run: ${printable}`);

  say(`running ${printable}`);
  result.exitCode = await new Promise<number>((done, fail) => {
    const child = spawn(command[0] as string, command.slice(1), { cwd, stdio: 'inherit' });
    child.on('error', fail);
    child.on('close', (code) => done(code ?? 1));
  });
  result.executed = true;
  return result;
}
