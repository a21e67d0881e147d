/**
 * The Node target's default log sink: JSON lines on stdout, batched for up to FLUSH_AFTER_MS,
 * and nothing lost when the process exits before the batch is written.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLineLog, FLUSH_AFTER_MS } from '../../targets/node/log.ts';

const LOG_MODULE = fileURLToPath(new URL('../../targets/node/log.ts', import.meta.url));

/** Runs `body` in a fresh Node process with `log` = stdoutLineLog(); returns its stdout lines. */
function runWithLog(body: string): { lines: unknown[]; status: number | null } {
  const script = `import { stdoutLineLog } from ${JSON.stringify(LOG_MODULE)};\nconst log = stdoutLineLog();\n${body}\n`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
  return { lines, status: r.status };
}

describe('the Node log sink', () => {
  it('writes the records of a batch window in one write, in order, within FLUSH_AFTER_MS', async () => {
    const writes: string[] = [];
    const log = createLineLog((text) => writes.push(text));
    log({ level: 'info', msg: 'a' });
    await new Promise((r) => setImmediate(r));
    // Later turns of the loop join the same batch.
    log({ level: 'error', msg: 'b', code: 'X' });
    expect(writes).toEqual([]);
    await new Promise((r) => setTimeout(r, FLUSH_AFTER_MS + 30));
    expect(writes).toEqual(['{"level":"info","msg":"a"}\n{"level":"error","msg":"b","code":"X"}\n']);
    // flush writes at once and cancels the pending write: nothing is written twice or late.
    log({ level: 'info', msg: 'c' });
    log.flush();
    expect(writes[1]).toBe('{"level":"info","msg":"c"}\n');
    await new Promise((r) => setTimeout(r, FLUSH_AFTER_MS + 30));
    expect(writes).toHaveLength(2);
  });

  it('does not keep the process alive for a waiting batch, and still writes it on the way out', () => {
    const r = runWithLog("log({ level: 'info', msg: 'last' });");
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([{ level: 'info', msg: 'last' }]);
  });

  it('writes at once when 64 KiB are waiting', () => {
    const writes: string[] = [];
    const log = createLineLog((text) => writes.push(text));
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 70; i++) log({ level: 'info', msg: big, i });
    const line = JSON.stringify({ level: 'info', msg: big, i: 10 }).length + 1;
    expect(writes).toHaveLength(1);
    // The write went out with the line that reached 64 KiB, made of whole lines.
    expect(writes[0]!.length).toBeGreaterThanOrEqual(64 * 1024);
    expect(writes[0]!.length).toBeLessThan(64 * 1024 + line);
    expect(writes[0]!.endsWith('\n')).toBe(true);
  });

  it('loses nothing when the process exits before the next turn', () => {
    const r = runWithLog("log({ level: 'info', msg: 'one' });\nlog({ level: 'info', msg: 'two' });\nprocess.exit(3);");
    expect(r.status).toBe(3);
    expect(r.lines).toEqual([
      { level: 'info', msg: 'one' },
      { level: 'info', msg: 'two' },
    ]);
  });

  it('loses nothing when the process dies of an uncaught exception', () => {
    const r = runWithLog("log({ level: 'error', msg: 'last words' });\nthrow new Error('boom');");
    expect(r.status).not.toBe(0);
    expect(r.lines).toEqual([{ level: 'error', msg: 'last words' }]);
  });

  it('keeps the process alive when its stdout reader goes away (EPIPE), and says so once on stderr', async () => {
    // The reader closes the pipe after the first line; the process logs 40 more lines after that.
    const script =
      `import { stdoutLineLog } from ${JSON.stringify(LOG_MODULE)};\nconst log = stdoutLineLog();\nlet n = 0;\n` +
      "const t = setInterval(() => { log({ level: 'info', msg: 'tick', n: n++ }); " +
      "if (n === 40) { clearInterval(t); process.stderr.write('still here\\n'); } }, 5);";
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).not.toContain('Unhandled');
    expect(code).toBe(0);
    expect(stderr).toContain('still here');
    expect(stderr.match(/stdout failed \(EPIPE\)/g)).toHaveLength(1);
  });

  it('keeps the process alive when the readers of stdout and stderr both go away (the parent died)', async () => {
    // No stderr to report on: the child says it lived by exiting 7 after its 40 lines.
    const script =
      `import { stdoutLineLog } from ${JSON.stringify(LOG_MODULE)};\nconst log = stdoutLineLog();\nlet n = 0;\n` +
      "const t = setInterval(() => { log({ level: 'info', msg: 'tick', n: n++ }); " +
      'if (n === 40) { clearInterval(t); process.exitCode = 7; } }, 5);';
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.once('data', () => {
      child.stdout.destroy();
      child.stderr.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(7);
  });
});
