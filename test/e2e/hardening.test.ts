/**
 * Hostile and unusual requests against the Node target, end to end: real loopback origins, the
 * undici forwarder, raw sockets (node:net) for what an HTTP client would never send.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, type PorticoConfig } from '../../core/config/index.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';
import { rawRequest } from './_harness.ts';
import { parseRaw, rawExchange } from './_raw.ts';

let echo: EchoOrigin;
let gw: NodeServer;
let trustedGw: NodeServer;
const logs: Record<string, unknown>[] = [];

type Seen = { headers: Record<string, string>; method: string; path: string };

function config(): PorticoConfig {
  return {
    trustedProxies: [],
    origins: { echo: { url: echo.url, region: 'eu-west', timeoutMs: 3000 } },
    routes: [
      { id: 'bank', match: { path: '/*', hosts: ['bank.example'] }, upstream: 'echo' },
      { id: 'traceable', match: { path: '/trace-ok', methods: ['GET', 'TRACE'] }, upstream: 'echo' },
      { id: 'echo', match: { path: '/echo/*' }, upstream: 'echo' },
    ],
  };
}

beforeAll(async () => {
  echo = await startEchoOrigin({ region: 'eu-west' });
  const hot = await loadNodeHot('wasm');
  gw = await startNodeServer(await compileConfig(config()), { port: 0, hot, log: (r) => logs.push(r) });
  trustedGw = await startNodeServer(await compileConfig({ ...config(), trustedProxies: ['127.0.0.1'] }), {
    port: 0,
    hot,
    log: () => {},
  });
});

afterAll(async () => {
  await gw?.drain();
  await trustedGw?.drain();
  await echo?.close();
});

function seenOf(body: string): Seen {
  return JSON.parse(body) as Seen;
}

describe('TRACE', () => {
  it('refuses TRACE with 405 problem+json on a route that does not list it, and never forwards it', async () => {
    const before = echo.seen.length;
    const res = await rawRequest(gw.url, '/echo/x', { method: 'TRACE', headers: { cookie: 'session=secret' } });
    expect(res.status).toBe(405);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()['code']).toBe('ERR_METHOD_NOT_ALLOWED');
    expect(res.headers['allow']).toBeDefined();
    expect(res.headers['allow']).not.toContain('TRACE');
    expect(echo.seen.length).toBe(before);
  });

  it('forwards TRACE on a route whose match.methods lists it', async () => {
    const res = await rawRequest(gw.url, '/trace-ok', { method: 'TRACE' });
    expect(res.status).toBe(200);
    expect(seenOf(res.body).method).toBe('TRACE');
  });
});

describe('forwarding headers from an untrusted peer', () => {
  const identity = {
    'x-forwarded-user': 'admin',
    'x-forwarded-email': 'admin@example.com',
    'x-forwarded-groups': 'admins',
    'x-forwarded-access-token': 'forged',
    'x-forwarded-client-cert': 'Hash=abc',
    'x-forwarded-ssl': 'on',
    'x-forwarded-scheme': 'https',
    'x-forwarded-prefix': '/admin',
    'x-forwarded-uri': '/admin',
    'x-forwarded-server': 'evil',
    'x-forwarded-preferred-username': 'root',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-port': '443',
    'x-forwarded-for': '6.6.6.6',
    'true-client-ip': '6.6.6.6',
    'cf-connecting-ip': '6.6.6.6',
    'x-real-ip': '6.6.6.6',
    'x-client-ip': '6.6.6.6',
    forwarded: 'for=6.6.6.6;proto=https',
  };

  it('discards every X-Forwarded-* and every client-address header the client sent', async () => {
    const res = await rawRequest(gw.url, '/echo/id', { headers: { ...identity, 'x-keep': 'yes' } });
    const h = seenOf(res.body).headers;
    for (const name of Object.keys(identity)) {
      if (name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'x-forwarded-host') continue;
      expect(h[name], name).toBeUndefined();
    }
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(new URL(gw.url).host);
    expect(h['x-keep']).toBe('yes');
  });

  it('passes the X-Forwarded-* family on from a trusted proxy', async () => {
    const res = await rawRequest(trustedGw.url, '/echo/id', { headers: identity });
    const h = seenOf(res.body).headers;
    expect(h['x-forwarded-user']).toBe('admin');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['true-client-ip']).toBe('6.6.6.6');
  });

  it('removes path and method overrides from every peer, trusted or not', async () => {
    const overrides = {
      'x-original-url': '/admin',
      'x-rewrite-url': '/admin',
      'x-http-method-override': 'DELETE',
      'x-http-method': 'DELETE',
      'x-method-override': 'DELETE',
    };
    for (const base of [gw.url, trustedGw.url]) {
      const h = seenOf((await rawRequest(base, '/echo/o', { headers: overrides })).body).headers;
      for (const name of Object.keys(overrides)) expect(h[name], `${name} via ${base}`).toBeUndefined();
    }
  });
});

describe('request targets and Host', () => {
  it('takes the scheme of an absolute-form target from the connection and its authority as the Host', async () => {
    const port = new URL(gw.url).port;
    const text = await rawExchange(
      gw.url,
      `GET https://bank.example/x HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    );
    const res = parseRaw(text);
    expect(res.status).toBe(200);
    const seen = seenOf(res.body);
    expect(seen.path).toBe('/x');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    // RFC 9112 §3.2.2: the target's authority replaces Host, for routing and for the origin alike.
    expect(seen.headers['x-forwarded-host']).toBe('bank.example');
  });

  it('refuses an absolute-form target whose scheme is not http or https with 400', async () => {
    const text = await rawExchange(
      gw.url,
      'GET ftp://bank.example/x HTTP/1.1\r\nHost: bank.example\r\nConnection: close\r\n\r\n',
    );
    expect(parseRaw(text).status).toBe(400);
  });

  it('answers 400 problem+json to a request with two Host headers and never forwards it', async () => {
    const before = echo.seen.length;
    const port = new URL(gw.url).port;
    const text = await rawExchange(
      gw.url,
      `GET /echo/two HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: bank.example\r\nConnection: close\r\n\r\n`,
    );
    const res = parseRaw(text);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toEqual(['application/problem+json']);
    expect(JSON.parse(res.body)['code']).toBe('ERR_BAD_HOST');
    expect(echo.seen.length).toBe(before);
  });
});
