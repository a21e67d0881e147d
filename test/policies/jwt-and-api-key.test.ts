/**
 * A route that needs both a JWT and an API key (a partner app acting for a user): both are
 * required, and the origin hears of both: the user from the token, the consumer and its plan
 * from the key. Real Node server, real loopback echo origin.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { generateApiKey, hashApiKey } from '../../core/policies/api-key/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest } from '../e2e/_harness.ts';

const SECRET = 'jwt-and-key-test-secret-of-at-least-32-bytes';
const KEY = generateApiKey();
let origin: EchoOrigin;
let gw: NodeServer;

async function token(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'user-7', scope: 'orders:read', iat: now, exp: now + 300 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
}

beforeAll(async () => {
  origin = await startEchoOrigin({ region: 'eu-west' });
  const compiled = await compileConfig({
    origins: { eu: { url: origin.url, region: 'eu-west' } },
    issuers: { app: { keys: [{ env: 'JWT_AND_KEY_SECRET' }], algorithms: ['HS256'] } },
    apiKeys: { partner: { hash: await hashApiKey(KEY), plan: 'gold' } },
    routes: [
      {
        id: 'both',
        match: { path: '/both' },
        upstream: 'eu',
        jwt: { issuer: 'app' },
        apiKey: {},
        identity: { metadata: { plan: 'x-plan' } },
      },
    ],
  });
  gw = await startNodeServer(compiled, {
    port: 0,
    hot: await loadNodeHot('wasm'),
    log: () => {},
    secrets: (name) => (name === 'JWT_AND_KEY_SECRET' ? SECRET : undefined),
  });
});

afterAll(async () => {
  await gw.drain();
  await origin.close();
});

describe('a route with jwt and apiKey', () => {
  it('forwards the subject from the token and the consumer and plan from the key', async () => {
    const res = await rawRequest(gw.url, '/both', { headers: { authorization: `Bearer ${await token()}`, 'x-api-key': KEY } });
    expect(res.status, res.body).toBe(200);
    const seen = res.json<{ headers: Record<string, string> }>().headers;
    expect(seen['x-portico-subject']).toBe('user-7');
    expect(seen['x-portico-consumer']).toBe('partner');
    expect(seen['x-plan']).toBe('gold');
    expect(seen['x-portico-scopes']).toBe('orders:read');
  });

  it('refuses the request when either one is missing', async () => {
    expect((await rawRequest(gw.url, '/both', { headers: { 'x-api-key': KEY } })).status).toBe(401);
    const noKey = await rawRequest(gw.url, '/both', { headers: { authorization: `Bearer ${await token()}` } });
    expect(noKey.status).toBe(401);
    expect(noKey.json()['code']).toBe('ERR_API_KEY_MISSING');
  });
});
