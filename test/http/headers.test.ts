import { describe, expect, it } from 'vitest';
import { HeaderMap } from '../../core/http/header-map.ts';
import {
  clientResolver,
  OVERRIDE_HEADERS,
  originHeaders,
  removeHopByHop,
  requestIdFrom,
  resolveClient,
} from '../../core/http/headers.ts';
import { cidrContains, formatIp, parseCidr, parseIp } from '../../core/http/ip.ts';

const ranges = (...list: string[]) =>
  list.map((s) => {
    const r = parseCidr(s);
    if (!r) throw new Error(`bad range ${s}`);
    return r;
  });

describe('IP ranges', () => {
  it('parses IPv4, IPv6 and IPv4-mapped addresses to one form', () => {
    expect(formatIp(parseIp('127.0.0.1')!)).toBe('127.0.0.1');
    expect(formatIp(parseIp('::ffff:127.0.0.1')!)).toBe('127.0.0.1');
    expect(formatIp(parseIp('2001:db8:0:0:0:0:0:1')!)).toBe('2001:db8::1');
    expect(formatIp(parseIp('[::1]')!)).toBe('::1');
    expect(parseIp('1.2.3')).toBeNull();
    expect(parseIp('256.1.1.1')).toBeNull();
    expect(parseIp('1::2::3')).toBeNull();
    expect(parseIp('example.com')).toBeNull();
  });

  it('tests membership in CIDR ranges of both families', () => {
    const [v4, v6] = ranges('10.0.0.0/8', 'fd00::/8');
    expect(cidrContains(v4!, parseIp('10.1.2.3')!)).toBe(true);
    expect(cidrContains(v4!, parseIp('::ffff:10.1.2.3')!)).toBe(true);
    expect(cidrContains(v4!, parseIp('11.0.0.1')!)).toBe(false);
    expect(cidrContains(v6!, parseIp('fd12::1')!)).toBe(true);
    expect(cidrContains(v6!, parseIp('fe80::1')!)).toBe(false);
    expect(parseCidr('10.0.0.0/33')).toBeNull();
  });
});

describe('resolveClient', () => {
  const trusted = ranges('10.0.0.0/8', '127.0.0.1');

  it('takes the peer as the client when the peer is not trusted, and drops its X-Forwarded-For', () => {
    const c = resolveClient('203.0.113.9', '1.1.1.1, 10.0.0.1', trusted);
    expect(c).toEqual({ address: '203.0.113.9', forwardedFor: '203.0.113.9', peerTrusted: false });
  });

  it('takes the rightmost untrusted address behind trusted proxies', () => {
    const c = resolveClient('10.0.0.2', '6.6.6.6, 198.51.100.4, 10.0.0.7', trusted);
    expect(c.address).toBe('198.51.100.4');
    // The spoofable part left of the client is not passed on.
    expect(c.forwardedFor).toBe('198.51.100.4, 10.0.0.7, 10.0.0.2');
    expect(c.peerTrusted).toBe(true);
  });

  it('stops at a malformed entry instead of believing what lies left of it', () => {
    const c = resolveClient('127.0.0.1', '9.9.9.9, not-an-ip, 10.0.0.3', trusted);
    expect(c.address).toBe('10.0.0.3');
  });

  it('uses the peer when a trusted peer sends no X-Forwarded-For', () => {
    expect(resolveClient('::ffff:127.0.0.1', null, trusted).address).toBe('127.0.0.1');
  });

  it('answers as resolveClient when it remembers peers, past its bound too', () => {
    const resolve = clientResolver(trusted, 8);
    const peers = ['203.0.113.9', '10.0.0.2', '::ffff:127.0.0.1', 'not-an-ip', '', '2001:db8::1'];
    for (let i = 0; i < 20; i++) peers.push(`198.51.100.${i}`, `10.1.2.${i}`);
    const chains = [null, '6.6.6.6, 198.51.100.4, 10.0.0.7', 'junk', '10.0.0.3'];
    // Twice over, so that peers come back both while remembered and after the memory started over.
    for (let round = 0; round < 2; round++) {
      for (const peer of peers) {
        for (const xff of chains) expect(resolve(peer, xff), `${peer} ${xff}`).toEqual(resolveClient(peer, xff, trusted));
      }
    }
  });
});

describe('hop-by-hop headers', () => {
  it('removes the fixed list and whatever Connection names', () => {
    const h = new Headers({
      connection: 'close, x-secret-hop',
      'x-secret-hop': '1',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      upgrade: 'h2c',
      accept: '*/*',
    });
    removeHopByHop(h);
    expect([...h.keys()]).toEqual(['accept']);
  });
});

describe('request ids', () => {
  it('keeps a well-formed incoming id and replaces a malformed one', () => {
    expect(requestIdFrom(new Headers({ 'x-request-id': 'abc-123' }))).toBe('abc-123');
    const fresh = requestIdFrom(new Headers({ 'x-request-id': 'bad id\twith spaces' }));
    expect(fresh).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom(new Headers())).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('originHeaders', () => {
  const always = new Set(['host', 'expect', ...OVERRIDE_HEADERS, 'x-user-id']);
  /** What it must equal: a copy, then a delete per unwanted name (the gateway's earlier way). */
  const byDeletes = (source: Headers, trusted: boolean): [string, string][] => {
    const h = new Headers(source);
    removeHopByHop(h);
    for (const name of always) h.delete(name);
    if (!trusted) {
      for (const name of [...h.keys()]) if (name.startsWith('x-forwarded-')) h.delete(name);
      for (const name of [
        'forwarded',
        'x-real-ip',
        'true-client-ip',
        'cf-connecting-ip',
        'x-client-ip',
        'x-cluster-client-ip',
        'fastly-client-ip',
      ])
        h.delete(name);
    }
    return [...h].sort();
  };

  it('drops what a copy and its deletes drop, for trusted and untrusted peers, from Headers and HeaderMaps', () => {
    const names = [
      'accept',
      'Host',
      'Connection',
      'keep-alive',
      'TE',
      'x-hop',
      'X-Forwarded-For',
      'x-forwarded-proto',
      'forwarded',
      'x-real-ip',
      'cf-connecting-ip',
      'x-http-method-override',
      'X-Original-URL',
      'expect',
      'x-user-id',
      'set-cookie',
      'cookie',
      'upgrade',
      'proxy-authorization',
      'x-other',
    ];
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let k = 0; k < 500; k++) {
      const source = new Headers();
      for (let n = next(9); n > 0; n--) {
        const name = names[next(names.length)] as string;
        source.append(
          name,
          name.toLowerCase() === 'connection'
            ? (['close, x-hop', 'keep-alive', 'X-Other, set-cookie'][next(3)] as string)
            : `v${next(5)}`,
        );
      }
      for (const trusted of [true, false]) {
        const want = byDeletes(source, trusted);
        expect([...originHeaders(source, trusted, always)].sort(), `${[...source]} ${trusted}`).toEqual(want);
        expect([...originHeaders(new HeaderMap(source), trusted, always)].sort()).toEqual(want);
      }
    }
  });
});
