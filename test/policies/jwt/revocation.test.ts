/**
 * Revocation on a running Node gateway (startNodeServer, real sockets): the admin endpoint
 * `/_portico/revocations` and the `portico revoke` CLI as a child process. A revoked jti or sub
 * is refused at once on Node (one process, one memory KV), including a token already in the
 * verified-token cache.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../../core/config/index.ts';
import { createTwinHot } from '../../../core/hot/index.ts';
import { startNodeServer, type NodeServer } from '../../../targets/node/server.ts';
import { type EchoServer, makeKey, mint, startEcho, type TestKey } from './_harness.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../../scripts/bin/portico.mjs', import.meta.url));
const ADMIN = 'admin-token-for-tests-0123456789';
let echo: EchoServer;
let node: NodeServer;
let key: TestKey;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  echo = await startEcho();
  key = await makeKey('ES256', 'k1');
  const compiled = await compileConfig({
    origins: { echo: { url: echo.url, region: 'local' } },
    issuers: { idp: { keys: [key.publicJwk], algorithms: ['ES256'], issuer: 'https://idp.test', revocation: true } },
    admin: { token: { env: 'TEST_ADMIN_TOKEN' } },
    routes: [{ match: { path: '/api/*' }, upstream: 'echo', jwt: { issuer: 'idp' } }],
  });
  node = await startNodeServer(compiled, {
    port: 0,
    hot: createTwinHot(),
    log: (r) => logs.push(r),
    secrets: (name) => (name === 'TEST_ADMIN_TOKEN' ? ADMIN : undefined),
  });
});

afterAll(async () => {
  await node?.drain();
  await echo?.close();
});

const token = (claims: Record<string, unknown>) =>
  mint(key.privateKey, { alg: 'ES256', kid: 'k1' }, { iss: 'https://idp.test', ...claims });

async function api(t: string): Promise<Response> {
  return fetch(`${node.url}/api/x`, { headers: { authorization: `Bearer ${t}` } });
}

function admin(method: string, query = '', body?: unknown, auth = `Bearer ${ADMIN}`): Promise<Response> {
  return fetch(`${node.url}/_portico/revocations${query}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

function portico(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('jwt revocation', () => {
  it('refuses the admin endpoint without the admin token, with 401', async () => {
    for (const auth of ['', 'Bearer wrong', `Basic ${ADMIN}`, `Bearer ${ADMIN}x`]) {
      const res = await admin('POST', '', { jti: 'x' }, auth);
      expect(res.status).toBe(401);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body['code']).toBe('ERR_ADMIN_UNAUTHORIZED');
      expect(JSON.stringify(body)).not.toContain(ADMIN);
    }
  });

  it('revokes a jti through the admin endpoint: the token is refused at once, even from the verified cache', async () => {
    const t = await token({ jti: 'token-1', sub: 'bob' });
    expect((await api(t)).status).toBe(200);
    const seenBefore = echo.seen.length;
    const res = await admin('POST', '', { jti: 'token-1', ttlSeconds: 3600 });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ revoked: true, jti: 'token-1' });
    const refused = await api(t);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('the token has been revoked');
    expect(((await refused.json()) as Record<string, unknown>)['code']).toBe('ERR_TOKEN_REVOKED');
    expect(echo.seen.length).toBe(seenBefore);
    // Another token of the same subject, with another jti, still passes.
    expect((await api(await token({ jti: 'token-2', sub: 'bob' }))).status).toBe(200);
    expect(await (await admin('GET', '?jti=token-1')).json()).toMatchObject({ revoked: true, jti: 'token-1' });
    expect(await (await admin('DELETE', '?jti=token-1')).json()).toMatchObject({ revoked: false });
    expect((await api(t)).status).toBe(200);
  });

  it('answers 400 for a malformed revocation request', async () => {
    expect((await admin('POST', '', { jti: 'a', sub: 'b' })).status).toBe(400);
    expect((await admin('POST', '', { jti: 'a', ttlSeconds: 5 })).status).toBe(400);
    expect((await admin('POST', '', ['x'])).status).toBe(400);
    expect((await admin('GET', '')).status).toBe(400);
    expect((await admin('PUT', '')).status).toBe(405);
  });

  it('revokes a sub with `portico revoke` against the running gateway', async () => {
    const t = await token({ sub: 'carol' });
    expect((await api(t)).status).toBe(200);
    const r = await portico(['revoke', '--url', node.url, '--sub', 'carol', '--ttl', '600'], { PORTICO_ADMIN_TOKEN: ADMIN });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sub carol: revoked until \d{4}-/);
    expect((await api(t)).status).toBe(401);
    const check = await portico(['revoke', '--url', node.url, '--sub', 'carol', '--check'], { PORTICO_ADMIN_TOKEN: ADMIN });
    expect(check.stdout).toContain('sub carol: revoked until');
  });

  it('`portico revoke` says which variable is missing, and fails on a wrong admin token', async () => {
    const missing = await portico(['revoke', '--url', node.url, '--jti', 'x'], { PORTICO_ADMIN_TOKEN: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('$PORTICO_ADMIN_TOKEN');
    const wrong = await portico(['revoke', '--url', node.url, '--jti', 'x', '--token-env', 'OTHER'], { OTHER: 'nope' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('answered 401');
    expect(wrong.stderr).not.toContain('nope');
  });

  it('never logs the admin token or a bearer token', () => {
    expect(JSON.stringify(logs)).not.toContain(ADMIN);
  });
});
