/**
 * A relayed body on the Web path (core guarding a `fetch` response's body, as on the edge
 * targets), driven through gateway.fetch with Node's own `fetch` as the forwarder and a real
 * loopback origin: a client that cancels while the gateway is reading ahead must leave nothing
 * behind (no unhandled rejection, the origin's connection closed).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { createGateway, type Gateway } from '../../core/gateway.ts';
import { createTwinHot } from '../../core/hot/index.ts';

let origin: Server;
let gateway: Gateway;
let originClosed = 0;

beforeAll(async () => {
  // A first chunk at once, then nothing until the connection goes.
  origin = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first\n');
    res.on('close', () => originClosed++);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  const config = await compileConfig({
    origins: { o: { url, region: 'local', timeoutMs: 20_000 } },
    routes: [{ match: { path: '/*' }, upstream: 'o' }],
  });
  gateway = createGateway(config, { forward: (u, init) => fetch(u, init), now: Date.now, hot: createTwinHot() });
});

afterAll(async () => {
  origin?.closeAllConnections();
  await new Promise<void>((r) => (origin ? origin.close(() => r()) : r()));
});

describe('a relayed body cancelled by the client', () => {
  it('stops reading the origin, with nothing left unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const res = await gateway.fetch(new Request('http://gw.test/held'), { waitUntil() {} });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('first\n');
      // The gateway reads one piece ahead: that read of the origin is pending now.
      await new Promise((r) => setTimeout(r, 50));
      await reader.cancel(new Error('client gone'));
      await vi.waitFor(() => expect(originClosed).toBe(1), { timeout: 3000 });
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
