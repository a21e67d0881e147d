/**
 * Node's `forward` capability, on undici's dispatcher rather than the global `fetch`: measured
 * here, `fetch` proxies about 4× slower (DESIGN.md, "Forwarding speed on Node"). It also does not
 * decompress: the client gets the origin's bytes and Content-Encoding unchanged.
 */
import { Readable } from 'node:stream';
import { Agent, request as undiciRequest } from 'undici';
import type { ForwardFn } from '../../core/capabilities.ts';

export interface NodeForwardOptions {
  /** Idle keep-alive sockets are closed after this many milliseconds, default 10000. */
  keepAliveTimeoutMs?: number;
  /** Most sockets per origin, default 256. */
  connectionsPerOrigin?: number;
}

function toHeaderRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/**
 * @example
 * const forward = createNodeForward();
 * await forward('http://127.0.0.1:9001/x', { method: 'GET', headers: new Headers(), body: null, redirect: 'manual', signal });
 */
export function createNodeForward(options: NodeForwardOptions = {}): ForwardFn & { close(): Promise<void> } {
  const agent = new Agent({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    connections: options.connectionsPerOrigin ?? 256,
  });
  const forward: ForwardFn = async (url, init) => {
    const res = await undiciRequest(url, {
      method: init.method as 'GET',
      headers: toHeaderRecord(init.headers),
      body: init.body ? Readable.fromWeb(init.body as import('node:stream/web').ReadableStream) : null,
      signal: init.signal,
      dispatcher: agent,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, value);
    }
    const noBody = init.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
    if (noBody) {
      res.body.resume();
      return new Response(null, { status: res.statusCode, headers });
    }
    const body = Readable.toWeb(res.body) as unknown as ReadableStream<Uint8Array>;
    return new Response(body, { status: res.statusCode, headers });
  };
  return Object.assign(forward, { close: () => agent.close() });
}
