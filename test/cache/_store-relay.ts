/**
 * The CacheStore contract across a runtime boundary: `serveCacheStoreRelay` runs inside the
 * other runtime (real Deno, workerd under miniflare) and answers for a store that lives there;
 * `relayCacheStore` is the CacheStore in the test process that hands each call to it over HTTP.
 * The store's code runs there; this only carries the arguments, the response and the clock.
 */
import type { CacheStore } from '../../core/capabilities.ts';

const HEAD = 'x-relay-head';

interface Head {
  status: number;
  statusText: string;
  headers: [string, string][];
}

function headOf(r: Response): string {
  const headers: [string, string][] = [];
  r.headers.forEach((v, k) => {
    if (k !== 'set-cookie') headers.push([k, v]);
  });
  for (const c of r.headers.getSetCookie()) headers.push(['set-cookie', c]);
  return encodeURIComponent(JSON.stringify({ status: r.status, statusText: r.statusText, headers }));
}

function fromHead(text: string, body: BodyInit | null): Response {
  const h = JSON.parse(decodeURIComponent(text)) as Head;
  return new Response(body, { status: h.status, statusText: h.statusText, headers: h.headers });
}

/** Inside the runtime: one request per store call; `/advance?s=` moves the store's clock. */
export async function serveCacheStoreRelay(store: CacheStore, clock: { now: number }, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const key = url.searchParams.get('key') ?? '';
  switch (url.pathname) {
    case '/put':
      await store.put(key, fromHead(request.headers.get(HEAD) ?? '', await request.arrayBuffer()), {
        ttlSeconds: Number(url.searchParams.get('ttl')),
      });
      return new Response('ok');
    case '/get': {
      const got = await store.get(key);
      if (!got) return new Response(null, { status: 204 });
      return new Response(await got.arrayBuffer(), { headers: { [HEAD]: headOf(got) } });
    }
    case '/delete':
      return Response.json({ deleted: await store.delete(key) });
    case '/advance':
      clock.now += Number(url.searchParams.get('s')) * 1000;
      return new Response('ok');
    default:
      return new Response('unknown', { status: 404 });
  }
}

/** In the test process: the store over there, as a CacheStore. */
export function relayCacheStore(send: (path: string, init?: RequestInit) => Promise<Response>): CacheStore {
  const q = (op: string, key: string, extra = '') => `/${op}?key=${encodeURIComponent(key)}${extra}`;
  return {
    async get(key) {
      const res = await send(q('get', key));
      if (res.status === 204) return null;
      return fromHead(res.headers.get(HEAD) ?? '', await res.arrayBuffer());
    },
    async put(key, response, { ttlSeconds }) {
      const head = headOf(response);
      const res = await send(q('put', key, `&ttl=${ttlSeconds}`), {
        method: 'POST',
        headers: { [HEAD]: head },
        body: await response.arrayBuffer(),
      });
      if (!res.ok) throw new Error(`put failed: ${res.status} ${await res.text()}`);
    },
    async delete(key) {
      return ((await (await send(q('delete', key), { method: 'POST' })).json()) as { deleted: boolean }).deleted;
    },
  };
}
