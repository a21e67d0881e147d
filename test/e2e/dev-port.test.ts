/**
 * `portico dev` as a user runs it when its port is taken: it must exit at once, non-zero, and
 * say which port and how to pick another (the demo origins must not keep it alive).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../scripts/bin/portico.mjs', import.meta.url));

describe('portico dev', () => {
  it('exits non-zero at once, naming the port and --port, when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    const child = spawn(process.execPath, [BIN, 'dev', '--port', String(port)], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 20_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    await new Promise<void>((r) => taken.close(() => r()));
    expect(code, `still running after 20 s; stderr: ${stderr}`).not.toBeNull();
    expect(code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stderr).toContain(String(port));
    expect(stderr).toContain('--port');
  }, 30_000);
});
