/**
 * The jwt policy end to end: tokens made with jose, keys from a loopback JWKS server and inline,
 * the gateway forwarding to a loopback echo origin with the Node forwarder. Every algorithm is
 * accepted; a corpus of forged, malformed and borderline tokens is refused with 401 (never a
 * 5xx), the token never appears in a body or a log line, and no refused request reaches the origin.
 */
import { createSign, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Alg,
  b64u,
  type EchoServer,
  type JwksServer,
  makeKey,
  mint,
  rawToken,
  signedRaw,
  signedText,
  startEcho,
  startGateway,
  startJwksServer,
  type TestGateway,
  type TestKey,
} from './_harness.ts';

const HS_SECRET = 'a-test-hmac-secret-of-at-least-32-bytes-long!!';
const ASYM: Exclude<Alg, `HS${string}`>[] = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];
const hsKey = new TextEncoder().encode(HS_SECRET);

let echo: EchoServer;
let jwks: JwksServer;
let gw: TestGateway;
const keys = new Map<string, TestKey>();
let pemKey: TestKey;
let noKidA: TestKey;
let noKidB: TestKey;
let weak: { privateKey: ReturnType<typeof generateKeyPairSync>['privateKey']; jwk: Record<string, unknown> };

const IDP = 'https://idp.test';
const claims = { iss: IDP, aud: 'api', sub: 'user-1' };

beforeAll(async () => {
  echo = await startEcho();
  for (const alg of ASYM) keys.set(alg, await makeKey(alg, `kid-${alg}`));
  pemKey = await makeKey('RS256', 'pem');
  noKidA = await makeKey('ES256', 'a');
  noKidB = await makeKey('ES256', 'b');
  const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
  weak = { privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: 'jwk' }), alg: 'RS256' } };
  jwks = await startJwksServer([...keys.values()].map((k) => k.publicJwk));
  const route = (id: string, path: string, jwt: unknown) => ({ id, match: { path }, upstream: 'echo', jwt });
  gw = await startGateway(
    {
      origins: { echo: { url: echo.url, region: 'local' } },
      issuers: {
        hs: {
          keys: [{ env: 'HS_SECRET' }],
          algorithms: ['HS256', 'HS384', 'HS512'],
          issuer: 'https://hs.test',
          audiences: ['api'],
        },
        idp: { jwksUrl: `${jwks.url}/jwks.json`, algorithms: ASYM, issuer: IDP, audiences: ['api', 'other'] },
        pem: { keys: [pemKey.publicPem], algorithms: ['RS256'], issuer: 'https://pem.test' },
        weak: { keys: [weak.jwk], algorithms: ['RS256'], issuer: 'https://weak.test' },
        nokid: {
          keys: [
            { ...noKidA.publicJwk, kid: undefined },
            { ...noKidB.publicJwk, kid: undefined },
          ],
          algorithms: ['ES256'],
          issuer: 'https://nokid.test',
        },
      },
      routes: [
        route('hs', '/hs/*', { issuer: 'hs' }),
        route('idp', '/idp/*', { issuer: 'idp', consumerClaim: 'client_id' }),
        route('scoped', '/scoped/*', { issuer: 'idp', scopes: ['orders:read'] }),
        route('roles', '/roles/*', { issuer: 'idp', scopeClaim: 'roles', scopes: ['admin'] }),
        route('cookie', '/cookie/*', { issuer: 'idp', token: { cookie: 'session' } }),
        route('header', '/header/*', { issuer: 'idp', token: { header: 'x-token' } }),
        route('small', '/small/*', { issuer: 'idp', maxTokenBytes: 256 }),
        route('pem', '/pem/*', { issuer: 'pem' }),
        route('weak', '/weak/*', { issuer: 'weak' }),
        route('nokid', '/nokid/*', { issuer: 'nokid' }),
        route('both', '/both/*', { issuer: ['hs', 'idp'] }),
      ],
    },
    { secrets: { HS_SECRET } },
  );
});

afterAll(async () => {
  await gw?.close();
  await echo?.close();
  await jwks?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Sends a request that must be refused; checks what every refusal must hold. */
async function refused(path: string, headers: Record<string, string>, token: string, status = 401) {
  const before = echo.seen.length;
  const logsBefore = gw.logs.length;
  const res = await gw.request(path, headers);
  const body = await res.text();
  expect(res.status, body).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="portico"/);
  if (token.length > 8) {
    expect(body).not.toContain(token);
    expect(res.headers.get('www-authenticate')).not.toContain(token);
    expect(JSON.stringify(gw.logs.slice(logsBefore))).not.toContain(token);
  }
  expect(echo.seen.length, 'a refused request reached the origin').toBe(before);
  return { res, body: JSON.parse(body) as Record<string, unknown> };
}

async function accepted(path: string, headers: Record<string, string>) {
  const before = echo.seen.length;
  const res = await gw.request(path, headers);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(echo.seen.length).toBe(before + 1);
  return res;
}

describe('jwt: accepted tokens', () => {
  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    it(`accepts an ${alg} token signed with the issuer's HMAC secret from env`, async () => {
      await accepted('/hs/x', bearer(await mint(hsKey, { alg }, { iss: 'https://hs.test', aud: 'api' })));
    });
  }
  for (const alg of ASYM) {
    it(`accepts a ${alg} token whose kid is in the issuer's JWKS`, async () => {
      const key = keys.get(alg) as TestKey;
      await accepted('/idp/x', bearer(await mint(key.privateKey, { alg, kid: key.kid }, claims)));
    });
  }

  it('accepts a token verified with an inline PEM (SPKI) public key', async () => {
    await accepted('/pem/x', bearer(await mint(pemKey.privateKey, { alg: 'RS256' }, { iss: 'https://pem.test' })));
  });

  it('accepts a token without kid by trying every matching key (jose alone refuses it)', async () => {
    await accepted('/nokid/x', bearer(await mint(noKidB.privateKey, { alg: 'ES256' }, { iss: 'https://nokid.test' })));
  });

  it('matches the Bearer scheme case-insensitively (RFC 9110 §11.1)', async () => {
    const token = await mint(keys.get('ES256')!.privateKey, { alg: 'ES256', kid: 'kid-ES256' }, claims);
    await accepted('/idp/x', { authorization: `bearer ${token}` });
    await accepted('/idp/x', { authorization: `BEARER ${token}` });
  });

  it('reads the token from a cookie or another header when the route says so', async () => {
    const token = await mint(keys.get('ES256')!.privateKey, { alg: 'ES256', kid: 'kid-ES256' }, claims);
    await accepted('/cookie/x', { cookie: `theme=dark; session=${token}; other=1` });
    await accepted('/header/x', { 'x-token': token });
    await refused('/cookie/x', bearer(token), token);
  });

  it('accepts the token of either issuer on a route naming two', async () => {
    await accepted('/both/x', bearer(await mint(hsKey, { alg: 'HS256' }, { iss: 'https://hs.test', aud: 'api' })));
    const key = keys.get('RS256') as TestKey;
    await accepted('/both/x', bearer(await mint(key.privateKey, { alg: 'RS256', kid: key.kid }, claims)));
  });

  it('grants the route when every scope is in the space-separated scope claim, or in an array claim', async () => {
    const key = keys.get('ES256') as TestKey;
    await accepted(
      '/scoped/x',
      bearer(await mint(key.privateKey, { alg: 'ES256', kid: key.kid }, { ...claims, scope: 'a orders:read b' })),
    );
    await accepted(
      '/roles/x',
      bearer(await mint(key.privateKey, { alg: 'ES256', kid: key.kid }, { ...claims, roles: ['user', 'admin'] })),
    );
  });

  it('sets identity log fields (auth, issuer, sub) and never logs the token', async () => {
    const key = keys.get('ES256') as TestKey;
    const token = await mint(key.privateKey, { alg: 'ES256', kid: key.kid }, { ...claims, sub: 'alice' });
    const before = gw.logs.length;
    await accepted('/idp/x', bearer(token));
    const record = gw.logs.slice(before).find((r) => r['auth'] === 'jwt');
    expect(record).toMatchObject({ auth: 'jwt', issuer: 'idp', sub: 'alice' });
    expect(JSON.stringify(gw.logs)).not.toContain(token);
  });
});

describe('jwt: refusals', () => {
  it('returns 401 with WWW-Authenticate and no error code when the token is missing (RFC 6750 §3.1)', async () => {
    const { res, body } = await refused('/idp/x', {}, '');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="portico"');
    expect(body['code']).toBe('ERR_AUTH_MISSING');
    // Another scheme is no bearer token either.
    const basic = await refused('/idp/x', { authorization: 'Basic dXNlcjpwYXNz' }, '');
    expect(basic.body['code']).toBe('ERR_AUTH_MISSING');
  });

  it('returns 403 with error="insufficient_scope" and the scope needed when a scope is missing', async () => {
    const key = keys.get('ES256') as TestKey;
    const token = await mint(key.privateKey, { alg: 'ES256', kid: key.kid }, { ...claims, scope: 'orders:write' });
    const { res, body } = await refused('/scoped/x', bearer(token), token, 403);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="portico", error="insufficient_scope", scope="orders:read"');
    expect(body['code']).toBe('ERR_INSUFFICIENT_SCOPE');
    expect(body['scope']).toBe('orders:read');
  });

  it('never accepts a forgery, a malformed or a borderline token: 401 invalid_token, no 5xx, no echo', async () => {
    const es = keys.get('ES256') as TestKey;
    const rs = keys.get('RS256') as TestKey;
    const now = Math.floor(Date.now() / 1000);
    const good = await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, claims);
    const [h, p, s] = good.split('.') as [string, string, string];
    // HS256 signed with the RSA public key's PEM as the HMAC secret: the classic alg confusion.
    const confusion = await mint(new TextEncoder().encode(rs.publicPem), { alg: 'HS256', kid: rs.kid }, claims);
    const confusionJwk = await mint(
      new TextEncoder().encode(JSON.stringify(rs.publicJwk)),
      { alg: 'HS256', kid: rs.kid },
      claims,
    );
    const other = await makeKey('ES256', 'kid-ES256');
    const weakSigned = (() => {
      const header = b64u(JSON.stringify({ alg: 'RS256' }));
      const payload = b64u(JSON.stringify({ iss: 'https://weak.test', exp: now + 600 }));
      const sig = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(weak.privateKey).toString('base64url');
      return `${header}.${payload}.${sig}`;
    })();
    const corpus: [string, string, Record<string, string>?][] = [
      ['alg none', rawToken('{"alg":"none"}', JSON.stringify({ ...claims, exp: now + 600 }), '')],
      [
        'alg none with a signature',
        rawToken('{"alg":"none","kid":"kid-ES256"}', JSON.stringify({ ...claims, exp: now + 600 }), s),
      ],
      ['alg NONE', rawToken('{"alg":"NONE"}', JSON.stringify({ ...claims, exp: now + 600 }), 'AAAA')],
      ['HS256 with the RSA public key PEM as secret', confusion],
      ['HS256 with the RSA public JWK as secret', confusionJwk],
      ['wrong signature (same kid, other key)', await mint(other.privateKey, { alg: 'ES256', kid: es.kid }, claims)],
      ['signature of another token', `${h}.${b64u(JSON.stringify({ ...claims, sub: 'admin', exp: now + 600 }))}.${s}`],
      ['expired', await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, exp: now - 3600 })],
      ['nbf in the future', await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, nbf: now + 3600 })],
      ['iat in the future', await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, iat: now + 3600 })],
      ['exp 1e999', await signedText(es, `{"iss":"${IDP}","aud":"api","exp":1e999}`)],
      ['exp missing', await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, exp: undefined })],
      ['exp as a string', await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, exp: String(now + 600) })],
      ['wrong iss', await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, iss: 'https://evil.test' })],
      ['wrong aud', await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, aud: 'someone-else' })],
      ['no aud', await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, aud: undefined })],
      ['padding in the signature', `${h}.${p}.${s}==`],
      ['whitespace in the signature', `${h}.${p}.${s.slice(0, 20)} ${s.slice(20)}`],
      [
        'non-canonical last base64url character',
        `${h}.${p}.${s.slice(0, -1)}${String.fromCharCode(s.charCodeAt(s.length - 1) ^ 1)}`,
      ],
      ['standard base64 in the signature', `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`],
      ['two segments', `${h}.${p}`],
      ['four segments', `${good}.${s}`],
      ['header not JSON', `${b64u('not json')}.${p}.${s}`],
      ['header kid not a string', rawToken('{"alg":"ES256","kid":5}', JSON.stringify(claims), s)],
      ['algorithm not allowed for the issuer', await mint(hsKey, { alg: 'HS256' }, claims)],
      [
        'crit header',
        signedRaw(es, '{"alg":"ES256","kid":"kid-ES256","crit":["x"],"x":1}', JSON.stringify({ ...claims, exp: now + 600 })),
      ],
      [
        'b64 false',
        signedRaw(
          es,
          '{"alg":"ES256","kid":"kid-ES256","b64":false,"crit":["b64"]}',
          JSON.stringify({ ...claims, exp: now + 600 }),
        ),
      ],
      ['unsigned copy of a good token with alg none', rawToken('{"alg":"none"}', Buffer.from(p, 'base64url').toString(), 'x')],
      ['1024-bit RSA key', weakSigned],
      ['oversized token', `${h}.${'A'.repeat(9000)}.${s}`],
      ['empty bearer', '', { authorization: 'Bearer' }],
      ['bearer with a comma', `${good},x`],
      ['bearer grammar: quote', `"${good}"`],
      ['bearer grammar: two tokens', `${good} ${good}`],
      ['bearer grammar: tab', good, { authorization: `Bearer\t${good}` }],
      ['bearer grammar: non-ASCII', `${good}é`],
      ['random bytes', 'AAAA.BBBB.CCCC'],
      ['unicode in payload', `${h}.${b64u('{"iss":"\u0000"}')}.${s}`],
    ];
    const statuses: Record<string, number> = {};
    for (const [name, token, headers] of corpus) {
      const path = name === '1024-bit RSA key' ? '/weak/x' : '/idp/x';
      const before = echo.seen.length;
      let res: Response;
      try {
        res = await gw.request(path, headers ?? bearer(token));
      } catch {
        // A header value the Request constructor itself refuses never reaches the gateway.
        continue;
      }
      const body = await res.text();
      statuses[name] = res.status;
      expect(res.status, `${name}: ${body}`).toBe(401);
      expect(body, name).not.toContain(token.length > 8 ? token : '\u0001');
      const www = res.headers.get('www-authenticate') ?? '';
      expect(www, name).toMatch(/^Bearer realm="portico"(, error="invalid_token", error_description="[^"\\]*")?$/);
      if (name !== 'empty bearer') expect(www, name).toContain('error="invalid_token"');
      expect(echo.seen.length, `${name} reached the origin`).toBe(before);
    }
    expect(Object.keys(statuses).length).toBeGreaterThan(30);
    if (JSON.stringify(gw.logs).includes(good)) throw new Error('a token was logged');
  });

  it('refuses, for what it is, a well-signed token with exp 1e999, a future iat, or a future nbf', async () => {
    const es = keys.get('ES256') as TestKey;
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string][] = [
      [await signedText(es, `{"iss":"${IDP}","aud":"api","exp":1e999}`), 'exp'],
      [await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, iat: now + 3600 }), 'iat'],
      [await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, nbf: now + 3600 }), 'nbf'],
    ];
    for (const [token, claim] of cases) {
      const { res } = await refused('/idp/x', bearer(token), token);
      expect(res.headers.get('www-authenticate')).toContain(`(${claim})`);
    }
    // Within the clock skew (30 s), a slightly early iat is fine.
    await accepted('/idp/x', bearer(await mint(es.privateKey, { alg: 'ES256', kid: es.kid }, { ...claims, iat: now + 10 })));
  });

  it('refuses a token over maxTokenBytes before parsing it', async () => {
    const key = keys.get('ES256') as TestKey;
    const token = await mint(key.privateKey, { alg: 'ES256', kid: key.kid }, { ...claims, pad: 'x'.repeat(200) });
    const { res } = await refused('/small/x', bearer(token), token);
    expect(res.headers.get('www-authenticate')).toContain('larger than 256 bytes');
  });

  it('ends a WebCrypto failure (a 1024-bit RSA key throws a plain TypeError in jose) as a 401', async () => {
    const header = b64u(JSON.stringify({ alg: 'RS256' }));
    const payload = b64u(JSON.stringify({ iss: 'https://weak.test', exp: Math.floor(Date.now() / 1000) + 600 }));
    const sig = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(weak.privateKey).toString('base64url');
    const token = `${header}.${payload}.${sig}`;
    const { body } = await refused('/weak/x', bearer(token), token);
    expect(body['code']).toBe('ERR_AUTH_INVALID');
  });
});

describe('jwt: verified-token cache', () => {
  it('serves a verified token from the cache until its exp, then refuses it as expired', async () => {
    const key = keys.get('ES256') as TestKey;
    const token = await mint(
      key.privateKey,
      { alg: 'ES256', kid: key.kid },
      { ...claims, exp: Math.floor(gw.clock.now / 1000) + 60 },
    );
    await accepted('/idp/x', bearer(token));
    await accepted('/idp/x', bearer(token));
    gw.advance(61_000 + 30_000);
    await refused('/idp/x', bearer(token), token);
    gw.clock.now = Date.now();
  });

  it('does not let a token cached for one issuer pass on a route of another issuer', async () => {
    const token = await mint(hsKey, { alg: 'HS256' }, { iss: 'https://hs.test', aud: 'api' });
    await accepted('/hs/x', bearer(token));
    await refused('/idp/x', bearer(token), token);
  });
});
