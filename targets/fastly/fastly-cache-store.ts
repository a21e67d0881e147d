/**
 * Fastly's response cache for the cache policy: `fastly:cache`'s SimpleCache, one entry per key,
 * the value a small JSON head (status, headers) and then the body bytes (SimpleCache keeps bytes,
 * not responses). Entries live in the POP that stored them; `delete` purges the key in this POP.
 * Built, not executed here (the local Fastly host cannot run offline).
 */
import { SimpleCache } from 'fastly:cache';
import type { CacheStore } from '../../core/index.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createFastlyCacheStore(): CacheStore {
  return {
    async get(key) {
      const entry = SimpleCache.get(key);
      if (!entry) return null;
      const bytes = new Uint8Array(await entry.arrayBuffer());
      if (bytes.byteLength < 4) return null;
      const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
      try {
        const head = JSON.parse(decoder.decode(bytes.subarray(4, 4 + n))) as { s: number; t: string; h: [string, string][] };
        const nullBody = head.s === 204 || head.s === 304;
        return new Response(nullBody ? null : bytes.slice(4 + n), { status: head.s, statusText: head.t, headers: head.h });
      } catch {
        return null;
      }
    },
    async put(key, response, { ttlSeconds }) {
      const body = new Uint8Array(await response.arrayBuffer());
      if (ttlSeconds <= 0) return;
      const headers: [string, string][] = [];
      response.headers.forEach((v, k) => {
        if (k !== 'set-cookie') headers.push([k, v]);
      });
      for (const c of response.headers.getSetCookie()) headers.push(['set-cookie', c]);
      const head = encoder.encode(JSON.stringify({ s: response.status, t: response.statusText, h: headers }));
      const value = new Uint8Array(4 + head.byteLength + body.byteLength);
      new DataView(value.buffer).setUint32(0, head.byteLength);
      value.set(head, 4);
      value.set(body, 4 + head.byteLength);
      SimpleCache.set(key, value, Math.ceil(ttlSeconds));
    },
    async delete(key) {
      SimpleCache.purge(key, { scope: 'pop' });
      return true;
    },
  };
}
