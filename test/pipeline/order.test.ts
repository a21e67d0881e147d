/**
 * The route pipeline's order is fixed (DESIGN.md): the order of the keys in a route's JSON does
 * not move a policy. Two routes with the same five policies written in opposite key orders
 * behave the same, end to end through the Node server and a real loopback origin:
 * cors (outermost) → rewrite → requestHeaders → upstream → securityHeaders → responseHeaders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, type CompiledConfig, type PorticoConfig } from '../../core/config/index.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest, type RawResponse } from '../e2e/_harness.ts';
import { startRecordingOrigin, type RecordingOrigin } from '../policies/_origin.ts';

let origin: RecordingOrigin;
let gw: NodeServer;
let compiled: CompiledConfig;

const APP = 'https://app.example.com';

const blocks = {
  cors: { origins: [APP], exposeHeaders: ['x-from-origin'] },
  rewrite: { stripPrefix: '/svc' },
  requestHeaders: { set: { 'x-step': 'request-transform' }, remove: ['x-drop'] },
  // Removes what the origin set, and one of securityHeaders' headers (it runs after it on the way
  // back); its Access-Control-Allow-Origin is replaced by cors, which runs after it.
  responseHeaders: {
    set: { 'x-step': 'response-transform', 'access-control-allow-origin': 'https://set-by-transform.test' },
    remove: ['x-origin-secret', 'referrer-policy'],
  },
  securityHeaders: { frameOptions: 'SAMEORIGIN' as const },
};
const forward = Object.keys(blocks) as (keyof typeof blocks)[];
const backward = [...forward].reverse();

function route(id: string, prefix: string, keys: readonly (keyof typeof blocks)[]): Record<string, unknown> {
  const r: Record<string, unknown> = { id, match: { path: `${prefix}/*` }, upstream: 'app' };
  for (const k of keys) r[k] = blocks[k];
  // The rewrite strips the route's own prefix.
  if ('rewrite' in r) r['rewrite'] = { stripPrefix: prefix };
  return r;
}

beforeAll(async () => {
  origin = await startRecordingOrigin();
  const config = {
    origins: { app: { url: origin.url, region: 'local' } },
    routes: [
      route('keys-forward', '/svc', forward),
      route('keys-backward', '/svc2', backward),
      { id: 'bare', match: { path: '/bare/*' }, upstream: 'app' },
    ],
  } as unknown as PorticoConfig;
  compiled = await compileConfig(config);
  gw = await startNodeServer(compiled, { port: 0, hot: await loadNodeHot('wasm'), log: () => {} });
});

afterAll(async () => {
  await gw?.drain();
  await origin?.close();
});

const ORIGIN_HEADERS = ['h=x-origin-secret:s3cret', 'h=x-from-origin:1', 'h=access-control-allow-origin:*'].join('&');

async function through(prefix: string): Promise<{ res: RawResponse; seen: RecordingOrigin['seen'][number] }> {
  const res = await rawRequest(gw.url, `${prefix}/thing?${ORIGIN_HEADERS}`, { headers: { origin: APP, 'x-drop': 'gone' } });
  const seen = origin.seen.at(-1);
  if (!seen) throw new Error('the origin saw nothing');
  return { res, seen };
}

describe('pipeline order', () => {
  it('compiles the policies into the same phase order whatever the key order', () => {
    const names = (id: string) => compiled.routes.find((r) => r.id === id)?.policies.map((p) => p.name);
    const expected = ['cors', 'rewrite', 'requestHeaders', 'responseHeaders', 'securityHeaders'];
    expect(names('keys-forward')).toEqual(expected);
    expect(names('keys-backward')).toEqual(expected);
    expect(names('bare')).toEqual([]);
  });

  for (const prefix of ['/svc', '/svc2']) {
    it(`runs cors → request transforms → upstream → securityHeaders → responseHeaders on ${prefix}`, async () => {
      const { res, seen } = await through(prefix);
      expect(res.status).toBe(200);
      // Request side: rewritten path, transformed headers.
      expect(seen.url).toBe(`/thing?${ORIGIN_HEADERS}`);
      expect(seen.headers['x-step']).toBe('request-transform');
      expect(seen.headers).not.toHaveProperty('x-drop');
      // responseHeaders saw the origin's response: removed its secret, set its header.
      expect(res.headers).not.toHaveProperty('x-origin-secret');
      expect(res.headers['x-step']).toBe('response-transform');
      // securityHeaders ran before it: its X-Frame-Options stays, its Referrer-Policy was removed.
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers).not.toHaveProperty('referrer-policy');
      // cors ran last: its Allow-Origin replaced both the origin's "*" and the transform's.
      expect(res.headers['access-control-allow-origin']).toBe(APP);
      expect(res.headers['access-control-expose-headers']).toBe('x-from-origin');
      expect(res.headers['vary']).toContain('Origin');
    });

    it(`answers a preflight on ${prefix} before any request transform or the origin`, async () => {
      const before = origin.seen.length;
      const res = await rawRequest(gw.url, `${prefix}/thing`, {
        method: 'OPTIONS',
        headers: { origin: APP, 'access-control-request-method': 'PUT' },
      });
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(APP);
      // Response-phase policies are inside cors: they never saw the preflight.
      expect(res.headers).not.toHaveProperty('x-frame-options');
      expect(res.headers).not.toHaveProperty('x-step');
      expect(origin.seen.length).toBe(before);
    });
  }

  it('adds nothing to the response of a route without policies but the request id', async () => {
    const direct = await rawRequest(origin.url, `/bare/x?${ORIGIN_HEADERS}`, { headers: { origin: APP } });
    const res = await rawRequest(gw.url, `/bare/x?${ORIGIN_HEADERS}`, { headers: { origin: APP } });
    expect(res.status).toBe(200);
    const extra = Object.keys(res.headers).filter((n) => !(n in direct.headers));
    expect(extra).toEqual(['x-request-id']);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers).not.toHaveProperty('vary');
  });
});
