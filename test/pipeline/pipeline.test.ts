/**
 * The policy pipeline as a user meets it: defaults for every route, `false` to turn one off,
 * secrets from the environment, startup failing on a missing secret, config errors inside policy
 * blocks, and the route's pipeline in `explain`. Real loopback origin, real Node server.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { ConfigError, SecretError } from '../../core/errors.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest } from '../e2e/_harness.ts';

let origin: EchoOrigin;
let gw: NodeServer;

function config(): PorticoConfig {
  return {
    origins: { eu: { url: origin.url, region: 'eu-west' } },
    defaults: {
      responseHeaders: { set: { 'x-default': 'on' }, remove: ['x-origin-secret'] },
    },
    routes: [
      { id: 'plain', match: { path: '/plain' }, upstream: 'eu' },
      { id: 'off', match: { path: '/off' }, upstream: 'eu', responseHeaders: false },
      { id: 'own', match: { path: '/own' }, upstream: 'eu', responseHeaders: { set: { 'x-own': 'yes' } } },
      {
        id: 'trimmed',
        match: { path: '/trimmed' },
        upstream: 'eu',
        requestHeaders: { set: { 'x-padded': ' \tv 1\t ' } },
        responseHeaders: { set: { 'set-cookie': 'gw=1; Path=/' } },
      },
      {
        id: 'keyed',
        match: { path: '/keyed' },
        upstream: 'eu',
        requestHeaders: { set: { 'x-origin-key': { env: 'PIPELINE_TEST_ORIGIN_KEY' } } },
      },
    ],
  };
}

beforeAll(async () => {
  origin = await startEchoOrigin({ region: 'eu-west' });
  const compiled = await compileConfig(config(), 'pipeline.json');
  gw = await startNodeServer(compiled, {
    port: 0,
    hot: await loadNodeHot('wasm'),
    log: () => {},
    secrets: (name) => (name === 'PIPELINE_TEST_ORIGIN_KEY' ? 'k-123-secret' : undefined),
  });
});

afterAll(async () => {
  await gw.drain();
  await origin.close();
});

describe('defaults', () => {
  it('applies a default policy to every route that does not set its own', async () => {
    const res = await rawRequest(gw.url, '/plain');
    expect(res.status).toBe(200);
    expect(res.headers['x-default']).toBe('on');
  });

  it('turns a default off on a route that says false', async () => {
    const res = await rawRequest(gw.url, '/off');
    expect(res.status).toBe(200);
    expect(res.headers['x-default']).toBeUndefined();
  });

  it("replaces the default with the route's own block (no merge)", async () => {
    const res = await rawRequest(gw.url, '/own');
    expect(res.headers['x-own']).toBe('yes');
    expect(res.headers['x-default']).toBeUndefined();
  });

  it('sends a padded set value as its text and sets a cookie from responseHeaders', async () => {
    const res = await rawRequest(gw.url, '/trimmed');
    expect(res.status).toBe(200);
    expect(res.json<{ headers: Record<string, string> }>().headers['x-padded']).toBe('v 1');
    expect(res.headers['set-cookie']).toEqual(['gw=1; Path=/']);
  });

  it('refuses a policy in defaults that is set per route only', async () => {
    const bad = { ...config(), defaults: { rewrite: { stripPrefix: '/x' } } } as PorticoConfig;
    await expect(compileConfig(bad, 'g.json')).rejects.toThrow('defaults.rewrite: rewrite is set per route only');
  });
});

describe('secrets', () => {
  it('sends a header whose value is a secret from the environment to the origin', async () => {
    const res = await rawRequest(gw.url, '/keyed');
    expect(res.status).toBe(200);
    const seen = res.json<{ headers: Record<string, string> }>();
    expect(seen.headers['x-origin-key']).toBe('k-123-secret');
  });

  it('keeps only the reference in the compiled config, never the value', async () => {
    const compiled = await compileConfig(config(), 'pipeline.json');
    const text = JSON.stringify(compiled);
    expect(text).toContain('PIPELINE_TEST_ORIGIN_KEY');
    expect(text).not.toContain('k-123-secret');
  });

  it('fails startup naming the config path and the variable when a secret is missing', async () => {
    const compiled = await compileConfig(config(), 'pipeline.json');
    const started = startNodeServer(compiled, {
      port: 0,
      hot: await loadNodeHot('wasm'),
      log: () => {},
      secrets: () => undefined,
    });
    await expect(started).rejects.toBeInstanceOf(SecretError);
    await expect(started).rejects.toThrow(
      'routes[4].requestHeaders.set.x-origin-key: secret PIPELINE_TEST_ORIGIN_KEY is not set',
    );
  });

  it('refuses a secret written in clear where a reference is expected', async () => {
    const bad = config();
    bad.routes[4] = {
      id: 'keyed',
      match: { path: '/keyed' },
      upstream: 'eu',
      requestHeaders: { set: { 'x-origin-key': { value: 'k-123-secret' } as never } },
    };
    const err = await compileConfig(bad, 'g.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('routes[4].requestHeaders.set["x-origin-key"]');
    expect((err as ConfigError).message).not.toContain('k-123-secret');
  });
});

describe('policy blocks in config errors', () => {
  it("names the field inside a policy block, not the block's on/off union", async () => {
    const bad = {
      origins: { eu: { url: 'http://127.0.0.1:1', region: 'x' } },
      routes: [{ match: { path: '/a' }, upstream: 'eu', rewrite: { strip: '/a' } }],
    };
    const err = (await compileConfig(bad, 'g.json').catch((e: unknown) => e)) as ConfigError;
    expect(err.message).toContain('g.json: routes[0].rewrite: unknown field "strip"');
  });

  it('says what a policy field takes when it is neither a block nor false', async () => {
    const bad = {
      origins: { eu: { url: 'http://127.0.0.1:1', region: 'x' } },
      routes: [{ match: { path: '/a' }, upstream: 'eu', rewrite: true }],
    };
    const err = (await compileConfig(bad, 'g.json').catch((e: unknown) => e)) as ConfigError;
    expect(err.message).toContain('routes[0].rewrite: expected a rewrite block, or false to turn it off on this route, got true');
  });

  it('compiles a route without policies to an empty pipeline', async () => {
    const compiled = await compileConfig({
      origins: { eu: { url: 'http://127.0.0.1:1', region: 'x' } },
      routes: [{ match: { path: '/a' }, upstream: 'eu' }],
    });
    expect(compiled.routes[0]?.policies).toEqual([]);
  });
});

describe('explain', () => {
  it('lists the policies that would run for the winning route, in pipeline order, without secret values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-pipeline-'));
    const file = join(dir, 'gw.json');
    const routes = config().routes.map((r) => (r.id === 'keyed' ? { ...r, rewrite: { stripPrefix: '/keyed' } } : r));
    writeFileSync(file, JSON.stringify({ ...config(), routes }));
    const run = spawnSync(
      process.execPath,
      ['scripts/bin/portico.mjs', 'explain', 'GET', 'http://localhost/keyed', '--config', file],
      {
        encoding: 'utf8',
        env: { ...process.env, PIPELINE_TEST_ORIGIN_KEY: 'k-123-secret' },
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'pipeline: rewrite (strip /keyed) → requestHeaders (+x-origin-key) → upstream eu → responseHeaders (-x-origin-secret +x-default)',
    );
    expect(run.stdout).not.toContain('k-123-secret');
  });
});
