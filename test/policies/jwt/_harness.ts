/**
 * Real parts for the jwt tests: a loopback JWKS server whose keys, status, delay and
 * Cache-Control the test controls (and which counts its fetches), a loopback echo origin that
 * records what reached it, keys made with jose, and a gateway from `createGateway` with the Node
 * forwarder, a clock the test can move, and its log lines kept.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { KeyObject, sign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { CompactSign, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { LogRecord } from '../../../core/capabilities.ts';
import type { Gateway } from '../../../core/gateway.ts';
import { createMemoryKV } from '../../../core/stores/index.ts';
import type { KVStore } from '../../../core/capabilities.ts';
import { startTestGateway } from '../../_gateway.ts';

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.keepAliveTimeout = 500;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

const close = (server: Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });

export interface JwksServer {
  url: string;
  /** Keys served; replace to rotate. */
  keys: JWK[];
  /** Status answered (200 serves the keys). */
  status: number;
  /** Milliseconds before answering. */
  delayMs: number;
  cacheControl: string | null;
  /** Extra bytes appended to the keys array (an oversized body). */
  padBytes: number;
  fetches: number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state: Omit<JwksServer, 'url' | 'close'> = {
    keys,
    status: 200,
    delayMs: 0,
    cacheControl: 'max-age=300',
    padBytes: 0,
    fetches: 0,
  };
  const { server, url } = await listen((_req, res) => {
    state.fetches++;
    setTimeout(() => {
      if (res.destroyed) return;
      if (state.status !== 200) {
        res.writeHead(state.status, { 'content-type': 'text/plain' }).end('no');
        return;
      }
      const headers: Record<string, string> = { 'content-type': 'application/jwk-set+json' };
      if (state.cacheControl !== null) headers['cache-control'] = state.cacheControl;
      res.writeHead(200, headers).end(JSON.stringify({ keys: state.keys, pad: 'x'.repeat(state.padBytes) }));
    }, state.delayMs);
  });
  return Object.assign(state, { url, close: () => close(server) }) as JwksServer;
}

export interface SeenRequest {
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface EchoServer {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startEcho(): Promise<EchoServer> {
  const seen: SeenRequest[] = [];
  const { server, url } = await listen((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, url: req.url }));
  });
  return { url, seen, close: () => close(server) };
}

export interface TestGateway {
  gateway: Gateway;
  logs: LogRecord[];
  kv: KVStore;
  /** The gateway's clock, in ms; move it with `advance`. */
  clock: { now: number };
  advance(ms: number): void;
  request(path: string, headers?: Record<string, string>, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startGateway(
  config: unknown,
  options: { secrets?: Record<string, string>; kv?: KVStore; clock?: { now: number } } = {},
): Promise<TestGateway> {
  const clock = options.clock ?? { now: Date.now() };
  const kv = options.kv ?? createMemoryKV({ now: () => clock.now });
  const base = await startTestGateway(config, {
    clock,
    stores: { kv },
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  const pending: Promise<unknown>[] = [];
  return {
    gateway: base.gateway,
    logs: base.logs,
    kv,
    clock,
    advance: (ms) => {
      clock.now += ms;
    },
    async request(path, headers = {}, init = {}) {
      const res = await base.dispatch(path, headers, init, pending);
      await Promise.allSettled(pending.splice(0));
      return res;
    },
    close: base.close,
  };
}

export type Alg = 'HS256' | 'HS384' | 'HS512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

export interface TestKey {
  alg: Alg;
  kid: string;
  /** Public JWK (with kid and alg), for a JWKS or inline keys. */
  publicJwk: JWK;
  publicPem: string;
  privateKey: CryptoKey;
}

export async function makeKey(
  alg: Exclude<Alg, `HS${string}`>,
  kid: string,
  options: { modulusLength?: number } = {},
): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg };
  return { alg, kid, publicJwk, publicPem: await exportSPKI(publicKey), privateKey };
}

export interface Claims {
  [claim: string]: unknown;
}

/** A signed token; `exp` defaults to an hour after `nowMs`. */
export async function mint(
  key: CryptoKey | Uint8Array,
  header: { alg: string; kid?: string; [k: string]: unknown },
  claims: Claims,
  nowMs = Date.now(),
): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return new SignJWT({ iat: now, exp: now + 3600, ...claims }).setProtectedHeader(header).sign(key);
}

/** base64url of a UTF-8 string or bytes, unpadded. */
export function b64u(input: string | Uint8Array): string {
  return Buffer.from(typeof input === 'string' ? new TextEncoder().encode(input) : input).toString('base64url');
}

/** A token whose header and payload are exactly the JSON texts given, with `signature` appended. */
export function rawToken(headerJson: string, payloadJson: string, signature: string): string {
  return `${b64u(headerJson)}.${b64u(payloadJson)}.${signature}`;
}

/** A token signed by `key` over exactly this payload text (e.g. numbers JSON cannot round-trip, `1e999`). */
export function signedText(key: TestKey, payloadJson: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payloadJson))
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .sign(key.privateKey);
}

/** An ES256 token over exactly these header and payload texts, signed outside jose (jose refuses to sign unknown `crit`). */
export function signedRaw(key: TestKey, headerJson: string, payloadJson: string): string {
  const input = `${b64u(headerJson)}.${b64u(payloadJson)}`;
  const sig = sign('sha256', Buffer.from(input), { key: KeyObject.from(key.privateKey), dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}
