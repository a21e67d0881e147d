import { connect } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';

/** The raw bytes of one request's answer, interim responses included, over a fresh connection. */
function rawExchange(url: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\nconnection: close\r\n\r\n`);
    });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('interim responses on the Node target', () => {
  let origin: Server;
  let gateway: NodeServer;
  beforeAll(async () => {
    origin = createServer((req, res) => {
      res.writeEarlyHints({ link: '</styles.css>; rel=preload; as=style', connection: 'x-secret', 'x-secret': '1' });
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=100000' });
        res.end(`final ${req.url}`);
      }, 20);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    const config = await compileConfig({
      origins: { o: { url: originUrl } },
      routes: [
        { match: { path: '/cached/*' }, upstream: 'o', cache: true },
        { match: { path: '/*' }, upstream: 'o' },
      ],
    });
    gateway = await startNodeServer(config, { port: 0, hot: await loadNodeHot('wasm'), log: () => {} });
  });
  afterAll(async () => {
    await gateway.drain();
    await new Promise<void>((resolve) => origin.close(() => resolve()));
  });

  it('relays an origin 103 Early Hints before the final response, without hop-by-hop fields', async () => {
    const text = await rawExchange(gateway.url, '/page');
    expect(text.startsWith('HTTP/1.1 103 Early Hints\r\n')).toBe(true);
    const interim = text.slice(0, text.indexOf('\r\n\r\n'));
    expect(interim.toLowerCase()).toContain('link: </styles.css>; rel=preload; as=style');
    expect(interim).not.toContain('x-secret');
    const final = text.slice(text.indexOf('\r\n\r\n') + 4);
    expect(final.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(final.endsWith('final /page')).toBe(true);
  });

  it('relays the 103 on a cache miss and answers a hit without it (interim responses are never stored)', async () => {
    const miss = await rawExchange(gateway.url, '/cached/a');
    expect(miss.startsWith('HTTP/1.1 103 Early Hints\r\n')).toBe(true);
    const hit = await rawExchange(gateway.url, '/cached/a');
    expect(hit.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(hit.toLowerCase()).toContain('cache-status: portico; hit');
    expect(hit.endsWith('final /cached/a')).toBe(true);
  });
});
