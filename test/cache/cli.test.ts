/**
 * `portico purge` and `portico warm` against a real gateway (the Node target on loopback) and a
 * counting origin: a purge by tag through the admin endpoint, refusals with exit codes, and a
 * warm from a list and from an access log with the Cache-Status tally.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { createTwinHot } from '../../core/hot/index.ts';
import { runPurgeCommand } from '../../scripts/purge-command.ts';
import { runWarmCommand, targetsFrom } from '../../scripts/warm-command.ts';
import { type NodeServer, startNodeServer } from '../../targets/node/server.ts';
import { type CountingOrigin, startCountingOrigin } from './_harness.ts';

let origin: CountingOrigin;
let node: NodeServer;
const TOKEN = 'cli-admin-token-for-the-purge-tests';

beforeAll(async () => {
  origin = await startCountingOrigin();
  const config = await compileConfig({
    origins: { o: { url: origin.url, region: 'local' } },
    admin: { token: { env: 'ADMIN' } },
    routes: [{ match: { path: '/c/*' }, upstream: 'o', cache: true }],
  });
  node = await startNodeServer(config, {
    port: 0,
    hot: createTwinHot(),
    log: () => {},
    secrets: (n) => (n === 'ADMIN' ? TOKEN : undefined),
  });
});
afterAll(async () => {
  await node.drain();
  await origin.close();
});

function io(text = '') {
  const lines = { out: [] as string[], err: [] as string[] };
  return {
    lines,
    io: { out: (l: string) => lines.out.push(l), err: (l: string) => lines.err.push(l), readText: async () => text },
  };
}

const status = async (path: string) => (await fetch(node.url + path)).headers.get('cache-status') ?? '';

describe('portico purge', () => {
  it('purges by tag through /_portico/purge and says what it reached', async () => {
    origin.replies.set('/c/tagged', { headers: { 'cache-control': 'max-age=60', 'surrogate-key': 'cli-tag' } });
    await status('/c/tagged');
    expect(await status('/c/tagged')).toMatch(/^portico; hit/);
    const { lines, io: o } = io();
    expect(await runPurgeCommand({ url: node.url, tag: 'cli-tag' }, o, { PORTICO_ADMIN_TOKEN: TOKEN })).toBe(0);
    expect(lines.out[0]).toBe('purged: 1 tag(s); reached the instance that answered');
    expect(await status('/c/tagged')).toMatch(/^portico; fwd=uri-miss/);
  });

  it('purges a path given relative to --url, softly', async () => {
    origin.replies.set('/c/soft', { headers: { 'cache-control': 'max-age=60', etag: '"s"' } });
    await status('/c/soft');
    const { lines, io: o } = io();
    expect(await runPurgeCommand({ url: node.url, path: '/c/soft', soft: true }, o, { PORTICO_ADMIN_TOKEN: TOKEN })).toBe(0);
    expect(lines.out[0]).toMatch(/^soft-purged \(marked stale\): 1 URL\(s\)/);
    expect(await status('/c/soft')).toMatch(/^portico; fwd=stale/);
  });

  it('exits 1 with the reason when the token is wrong, and 2 on bad usage', async () => {
    const a = io();
    expect(await runPurgeCommand({ url: node.url, all: true }, a.io, { PORTICO_ADMIN_TOKEN: 'nope' })).toBe(1);
    expect(a.lines.err[0]).toMatch(/^purge refused \(401\): The admin API needs Authorization/);
    const b = io();
    expect(await runPurgeCommand({ url: node.url }, b.io, { PORTICO_ADMIN_TOKEN: TOKEN })).toBe(2);
    expect(b.lines.err[0]).toBe('expected at least one of --tag, --path, --purge-url and --all');
    const c = io();
    expect(await runPurgeCommand({ url: node.url, all: true }, c.io, {})).toBe(2);
    expect(c.lines.err[0]).toBe('the admin token is read from $PORTICO_ADMIN_TOKEN, which is not set');
  });
});

describe('portico warm', () => {
  it('reads paths, URLs, JSON log records and common-log lines, GETs only, once each', () => {
    const text = [
      '/c/a',
      'http://x.test/c/b',
      '{"msg":"request","method":"GET","path":"/c/c"}',
      '{"msg":"request","method":"POST","path":"/c/post"}',
      '127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /c/d?x=1 HTTP/1.1" 200 12',
      '127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "DELETE /c/e HTTP/1.1" 200 12',
      '/c/a',
      '# a comment',
    ].join('\n');
    expect(targetsFrom(text)).toEqual(['/c/a', 'http://x.test/c/b', '/c/c', '/c/d?x=1']);
  });

  it('fetches every URL through the gateway with bounded concurrency and tallies what got stored', async () => {
    const paths = Array.from({ length: 30 }, (_, i) => `/c/warm${i}`);
    for (const p of paths) origin.replies.set(p, { headers: { 'cache-control': 'max-age=60' }, delayMs: 20 });
    const { lines, io: o } = io(paths.join('\n'));
    expect(await runWarmCommand({ url: node.url, concurrency: 4 }, o)).toBe(0);
    expect(lines.out[0]).toMatch(/^warmed 30 URL\(s\) in [\d.]+ s: 30 stored$/);
    expect(lines.err.at(-1)).toBe('warm: 30/30');
    for (const p of paths) expect(origin.count(p)).toBe(1);
    expect(await status('/c/warm7')).toMatch(/^portico; hit/);
  });

  it('refuses a concurrency out of range', async () => {
    const { lines, io: o } = io('/c/a');
    expect(await runWarmCommand({ url: node.url, concurrency: 0 }, o)).toBe(2);
    expect(lines.err[0]).toBe('--concurrency: expected a whole number from 1 to 256, got "0"');
  });
});
