/**
 * Per-target capability providers, as pure functions of what each platform hands over: the client
 * address and geo (from `request.cf` + CF-Connecting-IP on Cloudflare, `x-real-ip` +
 * `x-vercel-ip-*` on Vercel, the connection info on Deno), and waitUntil. The runtimes themselves
 * are exercised by the conformance suites.
 */
import { describe, expect, it } from 'vitest';
import { createTwinHot } from '../../core/hot/index.ts';
import { createWorkerCapabilities, requestContext as workerContext } from '../../targets/cloudflare/capabilities.ts';
import { createDenoCapabilities } from '../../targets/deno/capabilities.ts';
import { requestContext as vercelContext } from '../../targets/vercel/capabilities.ts';

describe('cloudflare capabilities', () => {
  it('takes the client address from CF-Connecting-IP and geo from request.cf', () => {
    const request = new Request('https://gw.example/x', { headers: { 'cf-connecting-ip': '198.51.100.7' } });
    Object.defineProperty(request, 'cf', {
      value: { country: 'DE', region: 'Hesse', city: 'Frankfurt', latitude: '50.11', longitude: '8.68', colo: 'FRA' },
    });
    const waited: Promise<unknown>[] = [];
    const ctx = workerContext(request, { waitUntil: (p) => waited.push(p) });
    expect(ctx.clientAddress).toBe('198.51.100.7');
    expect(ctx.geo).toEqual({ country: 'DE', region: 'Hesse', city: 'Frankfurt', latitude: 50.11, longitude: 8.68, pop: 'FRA' });
    const task = Promise.resolve(1);
    ctx.waitUntil(task);
    expect(waited).toEqual([task]);
  });

  it('uses the PORTICO_KV binding as the KV store, with Workers KV’s 60 s minimum TTL', async () => {
    const puts: unknown[][] = [];
    const caps = createWorkerCapabilities(createTwinHot(), {
      PORTICO_KV: {
        get: async (k) => (k === 'a' ? '1' : null),
        put: async (...args) => void puts.push(args),
        delete: async () => {},
      },
    });
    expect(await caps.stores?.kv?.get('a')).toBe('1');
    await caps.stores?.kv?.put('b', '2', { ttlSeconds: 5 });
    expect(puts).toEqual([['b', '2', { expirationTtl: 60 }]]);
    expect(createWorkerCapabilities(createTwinHot(), {}).stores?.kv).toBeUndefined();
  });
});

describe('vercel capabilities', () => {
  it('takes the client address from x-real-ip and geo from x-vercel-ip-* (city percent-decoded)', () => {
    const request = new Request('https://gw.example/x', {
      headers: {
        'x-real-ip': '203.0.113.5',
        'x-vercel-ip-country': 'BR',
        'x-vercel-ip-country-region': 'SP',
        'x-vercel-ip-city': 'S%C3%A3o%20Paulo',
        'x-vercel-ip-latitude': '-23.55',
        'x-vercel-ip-longitude': '-46.63',
      },
    });
    const ctx = vercelContext(request, undefined);
    expect(ctx.clientAddress).toBe('203.0.113.5');
    expect(ctx.geo).toEqual({ country: 'BR', region: 'SP', city: 'São Paulo', latitude: -23.55, longitude: -46.63 });
  });

  it('has no geo when Vercel sent none, and passes work to context.waitUntil', () => {
    const waited: Promise<unknown>[] = [];
    const ctx = vercelContext(new Request('https://gw.example/x'), { waitUntil: (p) => waited.push(p) });
    expect(ctx.geo).toBeUndefined();
    expect(ctx.clientAddress).toBeUndefined();
    const task = Promise.resolve();
    ctx.waitUntil(task);
    expect(waited).toEqual([task]);
  });
});

describe('deno capabilities', () => {
  it('takes the client address from the serve handler’s connection info, and has no KV outside Deno', async () => {
    const { capabilities, context } = await createDenoCapabilities(createTwinHot());
    expect(context({ remoteAddr: { hostname: '192.0.2.1', port: 5000, transport: 'tcp' } }).clientAddress).toBe('192.0.2.1');
    expect(context(undefined).clientAddress).toBeUndefined();
    // No `Deno.openKv` in this process: core keeps that state in memory.
    expect(capabilities.stores?.kv).toBeUndefined();
    // Node has no `caches` global, so the cache falls back to memory in core.
    expect(capabilities.stores?.cache).toBeUndefined();
  });
});
