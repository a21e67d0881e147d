/**
 * Purge fan-out between two real gateway processes (`portico dev`, each with its own memory
 * LRU) that share a real redis-server for pub/sub: a purge through one reaches the other.
 * Needs the Debian package redis-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../e2e/_harness.ts';
import { type RedisServer, startRedisServer } from '../stores/_redis.ts';
import { type CountingOrigin, startCountingOrigin } from './_harness.ts';

const CLI = fileURLToPath(new URL('../../scripts/bin/portico.mjs', import.meta.url));
const ADMIN = 'admin-secret-for-the-two-process-purge-test';

async function startProcess(configFile: string, redisUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await closedPort();
  const child = spawn(process.execPath, [CLI, 'dev', '--config', configFile, '--port', String(port)], {
    env: { ...process.env, REDIS_URL: redisUrl, ADMIN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start within 30 s:\n${output}`)), 30_000);
    const seen = (c: Buffer) => {
      output += c.toString();
      if (output.includes(`127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`gateway exited with code ${code}:\n${output}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

describe('purge fan-out across two gateway processes', () => {
  let redis: RedisServer;
  let origin: CountingOrigin;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
    origin = await startCountingOrigin();
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await origin.close();
    await redis.stop();
  });

  it('a purge by tag through one process makes the other stop serving the entry', async () => {
    origin.replies.set('/c/news', { headers: { 'cache-control': 'max-age=600', 'surrogate-key': 'news' } });
    const dir = mkdtempSync(join(tmpdir(), 'portico-purge-'));
    const configFile = join(dir, 'portico.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        admin: { token: { env: 'ADMIN' } },
        stores: { redis: { url: { env: 'REDIS_URL' }, keyPrefix: 'twoproc:' } },
        origins: { o: { url: origin.url, region: 'local' } },
        routes: [{ match: { path: '/c/*' }, upstream: 'o', cache: true }],
      }),
    );
    const [one, two] = await Promise.all([startProcess(configFile, redis.url), startProcess(configFile, redis.url)]);
    children.push(one.child, two.child);
    const status = async (base: string) => {
      const res = await fetch(`${base}/c/news`);
      await res.arrayBuffer();
      return res.headers.get('cache-status') ?? '';
    };
    await status(one.url);
    await status(two.url);
    // Each process has its own memory LRU: both stored, both hit now.
    const hit = async (base: string) => {
      const deadline = Date.now() + 5000;
      let s = await status(base);
      while (Date.now() < deadline && !s.includes('hit')) {
        await new Promise((r) => setTimeout(r, 20));
        s = await status(base);
      }
      return s;
    };
    expect(await hit(two.url)).toMatch(/^portico; hit/);
    expect(origin.count('/c/news')).toBe(2);

    const purge = await fetch(`${one.url}/_portico/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tags: ['news'] }),
    });
    expect(purge.status).toBe(202);
    expect((await purge.json()).reach).toBe('fanout');

    const deadline = Date.now() + 10_000;
    let after = '';
    while (Date.now() < deadline) {
      after = await status(two.url);
      if (!after.includes('hit')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(after).toMatch(/^portico; fwd=uri-miss; fwd-status=200; stored/);
    expect(origin.count('/c/news')).toBe(3);
  }, 60_000);
});
