/**
 * `portico key` as a user runs it: a child process, its exit code and what it prints. The hash it
 * prints is checked against node:crypto, and the config it prints is fed to a real gateway.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { createGateway } from '../../core/gateway.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startEchoOrigin } from '../../scripts/demo/echo-origin.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../scripts/bin/portico.mjs', import.meta.url));

function portico(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;

describe('portico key new', () => {
  it('prints a new pk_ key, its hash, and a config snippet that a gateway accepts the key with', async () => {
    const r = portico(['key', 'new', '--consumer', 'acme', '--plan', 'pro']);
    expect(r.code, r.stderr).toBe(0);
    const key = /^key: {2}(pk_[A-Za-z0-9_-]{43})$/m.exec(r.stdout)?.[1];
    const hash = /^hash: (sha256:[0-9a-f]{64})$/m.exec(r.stdout)?.[1];
    expect(key).toBeDefined();
    expect(hash).toBe(sha256(key!));
    expect(r.stdout).toContain(`apikey:${hash!.slice(7)}  →  {"consumer":"acme","plan":"pro"}`);
    const snippet = JSON.parse(r.stdout.slice(r.stdout.indexOf('  {'), r.stdout.indexOf('\n  }\n') + 4)) as {
      apiKeys: Record<string, unknown>;
    };
    expect(snippet).toEqual({ apiKeys: { acme: { hash, plan: 'pro' } } });

    const origin = await startEchoOrigin({ region: 'local' });
    try {
      const compiled = await compileConfig({
        ...snippet,
        origins: { echo: { url: origin.url, region: 'local' } },
        routes: [{ match: { path: '/x' }, upstream: 'echo', apiKey: {} }],
      });
      const gateway = createGateway(compiled, { forward: (u, i) => fetch(u, i), now: Date.now, hot: await loadNodeHot('twin') });
      const ok = await gateway.fetch(new Request('http://gw.test/x', { headers: { 'x-api-key': key! } }), { waitUntil() {} });
      expect(ok.status).toBe(200);
      const wrong = await gateway.fetch(new Request('http://gw.test/x', { headers: { 'x-api-key': `${key}x` } }), {
        waitUntil() {},
      });
      expect(wrong.status).toBe(401);
    } finally {
      await origin.close();
    }
  });

  it('prints a different key each time, and one JSON line with --json', () => {
    const a = JSON.parse(portico(['key', 'new', '--json']).stdout) as { consumer: string; key: string; hash: string };
    const b = JSON.parse(portico(['key', 'new', '--json']).stdout) as { key: string };
    expect(a.consumer).toBe('my-consumer');
    expect(a.key).not.toBe(b.key);
    expect(a.hash).toBe(sha256(a.key));
  });

  it('exits 2 for a consumer name that a config could not hold', () => {
    const r = portico(['key', 'new', '--consumer', 'a b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--consumer: expected a name of letters, digits, _ . -, got "a b"');
  });
});

describe('portico key hash', () => {
  it('prints the stored form of a key given as an argument', () => {
    const r = portico(['key', 'hash', 'pk_example']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${sha256('pk_example')}\n`);
  });

  it('reads the key from stdin, without the trailing newline of echo', () => {
    expect(portico(['key', 'hash'], 'pk_example\n').stdout).toBe(`${sha256('pk_example')}\n`);
    expect(portico(['key', 'hash', '-'], 'pk_example').stdout).toBe(`${sha256('pk_example')}\n`);
  });

  it('refuses an empty key and several lines, and names the actions for an unknown one', () => {
    expect(portico(['key', 'hash'], '\n')).toMatchObject({ code: 2, stderr: expect.stringContaining('empty') });
    expect(portico(['key', 'hash'], 'a\nb\n')).toMatchObject({ code: 2, stderr: expect.stringContaining('several lines') });
    expect(portico(['key', 'rotate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('(available: new, hash)') });
  });
});
