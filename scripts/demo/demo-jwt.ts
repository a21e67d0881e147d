/**
 * The demo's JWT issuer: an ES256 key pair made at startup (never written anywhere), its JWKS
 * served by a loopback origin of the demo (so the gateway's JWKS fetch path runs), and
 * `mintDemoToken(scopes)` for the banner's curl lines.
 *
 * @example
 * const idp = await startDemoIdp();
 * const config = demoConfig(...); Object.assign(config, { issuers: demoIssuers(idp.url) });
 * config.routes.unshift(demoJwtRoute('eu-west'));
 * out(`curl -s -H 'authorization: Bearer ${await idp.mintDemoToken(['orders:read'])}' ${base}/secure/orders`);
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** The `iss` and `aud` of demo tokens. */
export const DEMO_ISSUER = 'https://idp.portico.demo';
export const DEMO_AUDIENCE = 'portico-demo';
/** The scope the demo's secure route needs. */
export const DEMO_SCOPE = 'orders:read';
const KID = 'demo-es256';

export interface DemoIdp {
  /** Base URL of the loopback origin; the JWKS is at `${url}/.well-known/jwks.json`. */
  url: string;
  jwks: { keys: JWK[] };
  /** A token from the demo issuer with these scopes, valid for `ttlSeconds` (default 3600). */
  mintDemoToken(scopes: string[], ttlSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

/** Starts the demo issuer's loopback origin (the JWKS, with Cache-Control max-age=300). */
export async function startDemoIdp(options: { port?: number } = {}): Promise<DemoIdp> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' }] };
  const body = JSON.stringify(jwks);
  const server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwks,
    mintDemoToken(scopes, ttlSeconds = 3600) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ scope: scopes.join(' '), client_id: 'demo-client' })
        .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
        .setIssuer(DEMO_ISSUER)
        .setAudience(DEMO_AUDIENCE)
        .setSubject('demo-user')
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The demo's `issuers` block. */
export function demoIssuers(idpUrl: string) {
  return {
    demo: {
      jwksUrl: `${idpUrl}/.well-known/jwks.json`,
      algorithms: ['ES256'],
      issuer: DEMO_ISSUER,
      audiences: [DEMO_AUDIENCE],
    },
  };
}

/** The demo's route needing a JWT with `orders:read` (put it before the `/api/*` catch-all). */
export function demoJwtRoute(upstream: string) {
  return {
    id: 'secure-orders',
    match: { path: '/secure/*', methods: ['GET' as const] },
    upstream,
    jwt: { issuer: 'demo', scopes: [DEMO_SCOPE], consumerClaim: 'client_id' },
    rewrite: { stripPrefix: '/secure' },
  };
}
