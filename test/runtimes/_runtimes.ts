/**
 * How each runtime is started on 127.0.0.1 from the artifact `portico build` wrote, the way a user
 * (or the platform's local tool) would start it. Every process runs in its own process group and is
 * stopped by that group's id, children included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BuildResult, TargetName } from '../../scripts/build/index.ts';
import { REPO_ROOT } from '../../scripts/build/root.ts';
import { DENO_SERVE_FLAGS } from '../../scripts/build/targets/deno.ts';
import { VERCEL_FUNCTION_DIR } from '../../scripts/build/targets/vercel.ts';

export interface RunningRuntime {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** What the process printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Restarts the process when it has died (a trap kills `jco serve`). */
  ensureRunning(): Promise<void>;
  stop(): Promise<void>;
}

export interface RuntimeSpec {
  /** Name in test titles: the runtime, not the target (`workerd`, `edge-runtime`...). */
  name: string;
  target: TargetName;
  /**
   * Restart the process when it stops answering between cases. Only for `jco serve`, which a
   * trap in the component kills (DESIGN.md); any other runtime that dies fails the cases left.
   */
  restartOnCrash?: boolean;
  /** Longest wait for the first answer to /health, in milliseconds. */
  readyTimeoutMs: number;
  /** Command line that serves the built artifact on `port`. */
  command(build: BuildResult, port: number): { cmd: string; args: string[]; cwd: string; env?: Record<string, string> };
}

function bin(name: string): string {
  const file = join(REPO_ROOT, 'node_modules', '.bin', name);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm ci`);
  return file;
}

export const RUNTIMES: Record<'node' | 'deno' | 'workerd' | 'edge-runtime' | 'wasi', RuntimeSpec> = {
  node: {
    name: 'node',
    target: 'node',
    readyTimeoutMs: 20_000,
    command: (build, port) => ({
      cmd: process.execPath,
      args: [build.main],
      cwd: build.outDir,
      env: { PORT: String(port), HOST: '127.0.0.1' },
    }),
  },
  deno: {
    name: 'deno',
    target: 'deno',
    readyTimeoutMs: 30_000,
    command: (build, port) => ({
      cmd: bin('deno'),
      args: ['serve', ...DENO_SERVE_FLAGS, '--host', '127.0.0.1', '--port', String(port), 'main.js'],
      cwd: build.outDir,
      env: { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', DENO_DIR: join(build.outDir, '.deno') },
    }),
  },
  workerd: {
    name: 'workerd',
    target: 'cloudflare',
    readyTimeoutMs: 30_000,
    command: (build, port) => ({
      cmd: bin('workerd'),
      args: ['serve', 'workerd.capnp', '--socket-addr', `http=127.0.0.1:${port}`],
      cwd: build.outDir,
    }),
  },
  'edge-runtime': {
    name: 'edge-runtime',
    target: 'vercel',
    readyTimeoutMs: 30_000,
    command: (build, port) => ({
      cmd: process.execPath,
      args: [
        '--import',
        'tsx',
        join(REPO_ROOT, 'test/runtimes/hosts/edge-runtime-host.ts'),
        join(build.outDir, VERCEL_FUNCTION_DIR),
        String(port),
      ],
      cwd: REPO_ROOT,
    }),
  },
  wasi: {
    name: 'wasi (jco serve)',
    target: 'wasi',
    readyTimeoutMs: 120_000,
    restartOnCrash: true,
    command: (build, port) => ({
      cmd: bin('jco'),
      // Without --isolate-requests instance, the second request hangs (DESIGN.md).
      args: ['serve', '--isolate-requests', 'instance', '--host', '127.0.0.1', '--port', String(port), build.main],
      cwd: build.outDir,
    }),
  },
};

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answersHealth(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts the runtime on the built artifact and waits until it answers GET /health with 200.
 * @throws when the process exits first or never answers within `readyTimeoutMs`; the message
 * carries what the process printed.
 */
export async function startRuntime(spec: RuntimeSpec, build: BuildResult): Promise<RunningRuntime> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  let child: ChildProcess;

  const launch = async (): Promise<void> => {
    const { cmd, args, cwd, env } = spec.command(build, port);
    child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const current = child;
    current.stdout?.on('data', (c: Buffer) => (log += c.toString()));
    current.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    const deadline = Date.now() + spec.readyTimeoutMs;
    while (Date.now() < deadline) {
      if (current.exitCode !== null || current.signalCode !== null) {
        throw new Error(
          `${spec.name} exited (${current.exitCode ?? current.signalCode}) before answering on ${url}:\n${log.slice(-4000)}`,
        );
      }
      if (await answersHealth(url)) return;
      await sleep(200);
    }
    killGroup(current, 'SIGKILL');
    throw new Error(`${spec.name} never answered GET ${url}/health within ${spec.readyTimeoutMs} ms:\n${log.slice(-4000)}`);
  };

  await launch();
  return {
    url,
    output: () => log,
    async ensureRunning() {
      if (!spec.restartOnCrash) return;
      const current = child;
      const alive = current.exitCode === null && current.signalCode === null;
      if (alive && (await answersHealth(url))) return;
      log += `\n[harness] ${spec.name} stopped answering (exit ${current.exitCode ?? current.signalCode ?? 'pending'}); restarting\n`;
      if (current.exitCode === null && current.signalCode === null) {
        const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
        killGroup(current, 'SIGKILL');
        await exited;
      }
      await launch();
    },
    async stop() {
      const current = child;
      if (current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      killGroup(current, 'SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), sleep(3_000).then(() => true)]);
      if (timedOut) {
        killGroup(current, 'SIGKILL');
        await exited;
      }
    },
  };
}
