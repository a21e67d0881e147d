/**
 * The native relay's contract, in-process with Node's undici forwarder and a real loopback
 * origin: core offers the forwarder `relay` only when the adapter says it writes relayed bodies
 * and the route's policies leave bodies alone; the body then sits beside the response as the
 * forwarder's DispatchedResponse (fed by undici's dispatch callbacks), with the response's
 * hop-by-hop headers gone and the route's transforms applied.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../core/capabilities.ts';
import { compileConfig } from '../../core/config/index.ts';
import { createGateway, type Gateway } from '../../core/gateway.ts';
import { createTwinHot } from '../../core/hot/index.ts';
import { POLICIES } from '../../core/policies/index.ts';
import { isRelayedResponse, relayedBody } from '../../core/upstream/index.ts';
import { DispatchedResponse } from '../../targets/node/dispatched-response.ts';
import { createNodeForward } from '../../targets/node/forward.ts';

let origin: Server;
let gateway: Gateway;
let forward: ReturnType<typeof createNodeForward>;

beforeAll(async () => {
  origin = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'x-hop', 'x-hop': '1', 'x-origin': 'yes' });
    res.end(`hello ${req.headers['x-gateway'] ?? 'nobody'}`);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  const config = await compileConfig({
    origins: { o: { url, region: 'local' } },
    routes: [
      {
        match: { path: '/*' },
        upstream: 'o',
        requestHeaders: { set: { 'x-gateway': 'portico' } },
        responseHeaders: { set: { 'x-served-by': 'portico' }, remove: ['x-origin'] },
      },
    ],
  });
  forward = createNodeForward();
  gateway = createGateway(config, { forward, now: Date.now, hot: createTwinHot() });
  await gateway.ready;
});

afterAll(async () => {
  await forward?.close();
  await new Promise<void>((r) => (origin ? origin.close(() => r()) : r()));
});

const context = (nativeRelay: boolean): RequestContext => ({ waitUntil() {}, clientAddress: '127.0.0.1', nativeRelay });

function readAll(body: DispatchedResponse): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.attach({
      data: (c) => chunks.push(c) > 0,
      end: () => resolve(Buffer.concat(chunks).toString('utf8')),
      error: reject,
    });
  });
}

describe('the native relay', () => {
  it("hands the origin body over as the forwarder's DispatchedResponse when the adapter writes relayed bodies", async () => {
    const response = await gateway.fetch(new Request('http://gw.test/items'), context(true));
    const relayed = relayedBody(response);
    expect(response.status).toBe(200);
    expect(response.body).toBeNull();
    expect(isRelayedResponse(response)).toBe(true);
    expect(relayed?.native).toBeInstanceOf(DispatchedResponse);
    expect(relayed?.idleMs).toBeGreaterThan(0);
    expect(await readAll(relayed!.native as DispatchedResponse)).toBe('hello portico');
  });

  it('applies the route header transforms and removes hop-by-hop headers on a relayed response', async () => {
    const response = await gateway.fetch(new Request('http://gw.test/items'), context(true));
    await readAll(relayedBody(response)!.native as DispatchedResponse);
    expect(response.headers.get('x-served-by')).toBe('portico');
    expect(response.headers.get('x-origin')).toBeNull();
    expect(response.headers.get('x-hop')).toBeNull();
    expect(response.headers.get('connection')).toBeNull();
    expect(response.headers.get('x-request-id')).toMatch(/.+/);
  });

  it('streams the body as a web stream when the adapter does not say it writes relayed bodies', async () => {
    const response = await gateway.fetch(new Request('http://gw.test/items'), context(false));
    expect(relayedBody(response)).toBeUndefined();
    expect(await response.text()).toBe('hello portico');
    expect(response.headers.get('x-served-by')).toBe('portico');
  });

  it('has every policy declare what it does with bodies', () => {
    // Left out, a policy counts as rewriting bodies; saying so keeps a new policy's choice explicit.
    for (const policy of POLICIES) expect(['none', 'read', 'rewrite'], policy.name).toContain(policy.bodies);
  });
});
