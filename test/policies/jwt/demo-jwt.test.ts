/**
 * The demo's JWT fragment as the demo would run it: the demo issuer's loopback JWKS origin, an
 * echo origin, the Node server, and the three curl lines of the banner (valid token 200, token
 * lacking the scope 403, no token 401).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../../core/config/index.ts';
import { createTwinHot } from '../../../core/hot/index.ts';
import { type DemoIdp, demoIssuers, demoJwtRoute, startDemoIdp } from '../../../scripts/demo/demo-jwt.ts';
import { type EchoOrigin, startEchoOrigin } from '../../../scripts/demo/echo-origin.ts';
import { type NodeServer, startNodeServer } from '../../../targets/node/server.ts';

let idp: DemoIdp;
let eu: EchoOrigin;
let node: NodeServer;

beforeAll(async () => {
  idp = await startDemoIdp();
  eu = await startEchoOrigin({ region: 'eu-west' });
  const compiled = await compileConfig({
    origins: { 'eu-west': { url: eu.url, region: 'eu-west' } },
    issuers: demoIssuers(idp.url),
    routes: [demoJwtRoute('eu-west')],
  });
  node = await startNodeServer(compiled, { port: 0, hot: createTwinHot(), log: () => {} });
});

afterAll(async () => {
  await node?.drain();
  await eu?.close();
  await idp?.close();
});

describe('demo jwt', () => {
  it('answers 200 for a minted token with orders:read, 403 without the scope, 401 without a token', async () => {
    const ok = await fetch(`${node.url}/secure/orders`, {
      headers: { authorization: `Bearer ${await idp.mintDemoToken(['orders:read'])}` },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { path: string }).path).toBe('/orders');
    const lacking = await fetch(`${node.url}/secure/orders`, {
      headers: { authorization: `Bearer ${await idp.mintDemoToken(['profile'])}` },
    });
    expect(lacking.status).toBe(403);
    expect(lacking.headers.get('www-authenticate')).toContain('error="insufficient_scope", scope="orders:read"');
    const none = await fetch(`${node.url}/secure/orders`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="portico"');
    expect(eu.seen.length).toBe(1);
  });
});
