import { describe, expect, it } from 'vitest';
import { HeaderMap } from '../../core/http/header-map.ts';
import { BodylessResponse } from '../../core/http/bodyless-response.ts';

/** The same operations on a WHATWG Headers and a HeaderMap; both must read back alike. */
function both(ops: (h: Headers) => void): [Headers, HeaderMap] {
  const web = new Headers();
  const map = new HeaderMap();
  ops(web);
  ops(map);
  return [web, map];
}

function readBack(h: Headers, names: string[]): unknown {
  return { get: names.map((n) => h.get(n)), has: names.map((n) => h.has(n)), cookies: h.getSetCookie() };
}

describe('HeaderMap', () => {
  it('reads back like WHATWG Headers after sets, appends and deletes in any case', () => {
    const [web, map] = both((h) => {
      h.set('Content-Type', 'text/plain');
      h.append('accept', 'a');
      h.append('ACCEPT', ' b ');
      h.append('Set-Cookie', 'a=1');
      h.append('set-cookie', 'b=2');
      h.set('X-Drop', '1');
      h.delete('x-DROP');
      h.set('x-empty', '');
    });
    const names = ['content-type', 'accept', 'set-cookie', 'x-drop', 'x-empty', 'missing'];
    expect(readBack(map, names)).toEqual(readBack(web, names));
    expect(map.get('accept')).toBe('a, b');
    expect(map.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  it('takes known lower-case names unchecked as set and delete would, cookies included', () => {
    const [web, map] = both((h) => {
      h.append('set-cookie', 'old=1');
      h.set('x-gone', '1');
      h.set('accept', 'x');
    });
    for (const [h, known] of [
      [web, false],
      [map, true],
    ] as const) {
      if (known && h instanceof HeaderMap) {
        h.setKnown('set-cookie', 'gw=1');
        h.setKnown('accept', 'y');
        h.deleteKnown('x-gone');
      } else {
        h.set('set-cookie', 'gw=1');
        h.set('accept', 'y');
        h.delete('x-gone');
      }
    }
    const names = ['set-cookie', 'accept', 'x-gone'];
    expect(readBack(map, names)).toEqual(readBack(web, names));
    expect(map.getSetCookie()).toEqual(['gw=1']);
    expect(map.toRecord()).toEqual({ accept: 'y', 'set-cookie': ['gw=1'] });
  });

  it('refuses invalid names and values as Headers does', () => {
    const map = new HeaderMap();
    expect(() => map.set('bad name', 'x')).toThrow(TypeError);
    expect(() => map.set('x-a', 'one\r\nx-injected: yes')).toThrow(TypeError);
    expect(() => map.append('x-a', 'nul\0')).toThrow(TypeError);
    expect(map.has('x-a')).toBe(false);
  });

  it('combines repeated raw fields as appending them would, and keeps cookies apart', () => {
    const map = HeaderMap.fromRaw(['Host', 'a.example', 'Accept', 'x', 'accept', 'y', 'Cookie', 'c=1']);
    expect([...map]).toEqual([
      ['host', 'a.example'],
      ['accept', 'x, y'],
      ['cookie', 'c=1'],
    ]);
    const res = HeaderMap.fromRecord({ 'set-cookie': ['a=1', 'b=2'], vary: 'accept', gone: undefined });
    expect(res.toRecord()).toEqual({ vary: 'accept', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('copies to and from WHATWG Headers and Response without losing cookies', async () => {
    const map = new HeaderMap(
      new Headers([
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['x-a', '1'],
      ]),
    );
    expect(map.getSetCookie()).toEqual(['a=1', 'b=2']);
    const web = new Headers(map);
    expect(web.getSetCookie()).toEqual(['a=1', 'b=2']);
    const response = new Response('hi', { status: 201, headers: map });
    expect(response.headers.get('x-a')).toBe('1');
    expect(await response.text()).toBe('hi');
  });
});

describe('BodylessResponse', () => {
  it('has the status, headers and empty body of new Response(null)', async () => {
    const r = new BodylessResponse(304, HeaderMap.fromRecord({ etag: '"v1"' }));
    const web = new Response(null, { status: 304, headers: { etag: '"v1"' } });
    expect([r.status, r.ok, r.body, r.headers.get('etag')]).toEqual([web.status, web.ok, web.body, web.headers.get('etag')]);
    expect(await r.text()).toBe(await web.text());
    const copy = new Response(r.body, r);
    expect(copy.headers.get('etag')).toBe('"v1"');
    const clone = r.clone();
    clone.headers.set('etag', '"v2"');
    expect(r.headers.get('etag')).toBe('"v1"');
  });
});
