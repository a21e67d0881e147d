/**
 * A `Headers` for the gateway's own per-request header work: the copy of the client's headers
 * that goes to the origin, and the origin's response headers on their way back.
 *
 * WHATWG `Headers` (undici's, in Node) validates every name and value, keeps a sorted list that
 * each `delete` invalidates, and costs about a microsecond to build from six headers; a request
 * through the gateway builds and edits three of them (about 25 deletes for hop-by-hop, forwarding
 * and override headers alone). Measured on the Node target under load, WHATWG header and
 * response work was about 26 µs of CPU per request (bench/README.md, "forwarding"). This one is a
 * Map keyed by lower-case name, with `set-cookie` kept as a list, and the same observable
 * behaviour for what the gateway and its policies do:
 * - names are case-insensitive; `get` joins repeated values with ", " (`set-cookie` too);
 *   `getSetCookie` gives them one by one;
 * - `set` and `append` refuse invalid names and values with a TypeError, as Headers does, and
 *   trim surrounding whitespace from values;
 * - iteration gives lower-case names, `set-cookie` once per cookie.
 *
 * One difference, on purpose: iteration is in insertion order, not sorted by name, so a response
 * keeps the order its origin sent. `new Headers(map)` and `new Response(body, { headers: map })`
 * take it as they take any iterable of pairs.
 *
 * Bulk constructors (`fromRaw`, `fromRecord`) skip validation: their input comes from an HTTP
 * parser (node:http, undici) that has validated it already.
 */

/** RFC 9110 §5.1 field-name: a token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What no field value may hold (RFC 9110 §5.5): NUL, CR, LF. */
const BAD_VALUE = /[\0\r\n]/;

function isHttpWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** A value as Headers stores it: leading and trailing HTTP whitespace removed. */
function normalizeValue(value: string): string {
  const n = value.length;
  if (n === 0 || (!isHttpWhitespace(value.charCodeAt(0)) && !isHttpWhitespace(value.charCodeAt(n - 1)))) return value;
  let start = 0;
  let end = n;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

function checkedName(name: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`Invalid header name: "${name}"`);
  return name.toLowerCase();
}

function checkedValue(name: string, value: string): string {
  const v = normalizeValue(String(value));
  if (BAD_VALUE.test(v)) throw new TypeError(`Invalid value of the header "${name}"`);
  return v;
}

export class HeaderMap implements Headers {
  /** One entry per lower-case name; values joined with ", " (not `set-cookie`, kept in `cookies`). */
  private readonly map = new Map<string, string>();
  private cookies: string[] | null = null;

  /**
   * A copy of `init`: a HeaderMap, a WHATWG Headers, pairs, or a record.
   * @example const upstream = new HeaderMap(request.headers);
   */
  constructor(init?: HeadersInit | HeaderMap) {
    if (init === undefined || init === null) return;
    if (init instanceof HeaderMap) {
      for (const [name, value] of init.map) this.map.set(name, value);
      if (init.cookies) this.cookies = init.cookies.slice();
      return;
    }
    if (typeof (init as Headers).getSetCookie === 'function' && typeof (init as Headers).forEach === 'function') {
      const headers = init as Headers;
      headers.forEach((value, name) => {
        if (name !== 'set-cookie') this.map.set(name, value);
      });
      const cookies = headers.getSetCookie();
      if (cookies.length > 0) this.cookies = cookies.slice();
      return;
    }
    if (Symbol.iterator in (init as object)) {
      for (const pair of init as Iterable<readonly [string, string]>) this.append(pair[0], pair[1]);
      return;
    }
    for (const [name, value] of Object.entries(init as Record<string, string>)) this.append(name, value);
  }

  /**
   * From node:http's `rawHeaders` (name, value, name, value, …, names as sent): repeated fields
   * are combined as a WHATWG Headers built by appending each would combine them.
   */
  static fromRaw(raw: readonly string[]): HeaderMap {
    const out = new HeaderMap();
    for (let i = 0; i + 1 < raw.length; i += 2) out.appendTrusted((raw[i] as string).toLowerCase(), raw[i + 1] as string);
    return out;
  }

  /** From a record of lower-case names (undici's response headers): a list is one value per entry. */
  static fromRecord(record: Readonly<Record<string, string | readonly string[] | undefined>>): HeaderMap {
    const out = new HeaderMap();
    for (const name in record) {
      const value = record[name];
      if (value === undefined) continue;
      if (typeof value === 'string') out.appendTrusted(name, value);
      else for (const v of value) out.appendTrusted(name, v);
    }
    return out;
  }

  /**
   * A copy of `source` with only the names `keep` says yes to (lower-case, as iteration gives
   * them; `set-cookie` is asked once): one pass instead of a copy and a delete per unwanted name.
   */
  static filtered(source: Headers, keep: (name: string) => boolean): HeaderMap {
    const out = new HeaderMap();
    if (source instanceof HeaderMap) {
      for (const [name, value] of source.map) if (keep(name)) out.map.set(name, value);
      if (source.cookies && keep('set-cookie')) out.cookies = source.cookies.slice();
      return out;
    }
    source.forEach((value, name) => {
      if (name !== 'set-cookie' && keep(name)) out.map.set(name, value);
    });
    const cookies = source.getSetCookie();
    if (cookies.length > 0 && keep('set-cookie')) out.cookies = cookies.slice();
    return out;
  }

  /** An append of a name already lower-case and a value already validated (by an HTTP parser). */
  private appendTrusted(name: string, value: string): void {
    if (name === 'set-cookie') {
      if (this.cookies === null) this.cookies = [value];
      else this.cookies.push(value);
      return;
    }
    const had = this.map.get(name);
    this.map.set(name, had === undefined ? value : `${had}, ${value}`);
  }

  append(name: string, value: string): void {
    const key = checkedName(name);
    this.appendTrusted(key, checkedValue(name, value));
  }

  set(name: string, value: string): void {
    const key = checkedName(name);
    const v = checkedValue(name, value);
    if (key === 'set-cookie') this.cookies = [v];
    else this.map.set(key, v);
  }

  /**
   * `set` without the checks, for a field the gateway makes itself or checked at startup: `name`
   * lower-case, `value` valid and trimmed (an id it drew, a host the URL parser gave, a route's
   * header transform). Each check is a regular expression and a `toLowerCase`; a forwarded
   * request sets some seven such fields.
   */
  setKnown(name: string, value: string): void {
    if (name === 'set-cookie') this.cookies = [value];
    else this.map.set(name, value);
  }

  /**
   * `delete` of a name that is lower-case already (the gateway's own lists: hop-by-hop and
   * forwarding fields), without `toLowerCase`: a forwarded request deletes some forty of them.
   */
  deleteKnown(name: string): void {
    if (name === 'set-cookie') this.cookies = null;
    else this.map.delete(name);
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (key === 'set-cookie') return this.cookies && this.cookies.length > 0 ? this.cookies.join(', ') : null;
    return this.map.get(key) ?? null;
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    return key === 'set-cookie' ? this.cookies !== null && this.cookies.length > 0 : this.map.has(key);
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    if (key === 'set-cookie') this.cookies = null;
    else this.map.delete(key);
  }

  getSetCookie(): string[] {
    return this.cookies ? this.cookies.slice() : [];
  }

  forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.map) callback.call(thisArg, value, name, this);
    if (this.cookies) for (const cookie of this.cookies) callback.call(thisArg, cookie, 'set-cookie', this);
  }

  /** As node:http and undici take headers: one value per name, `set-cookie` as a list. */
  toRecord(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of this.map) out[name] = value;
    if (this.cookies && this.cookies.length > 0) out['set-cookie'] = this.cookies.slice();
    return out;
  }

  /**
   * Name, value, name, value, … (`set-cookie` once per cookie), as node:http's `writeHead` and
   * undici take headers too: no record to build, whose keys would make a dictionary object.
   */
  toList(): string[] {
    const out: string[] = [];
    for (const [name, value] of this.map) out.push(name, value);
    if (this.cookies) for (const cookie of this.cookies) out.push('set-cookie', cookie);
    return out;
  }

  *entries(): HeadersIterator<[string, string]> {
    for (const [name, value] of this.map) yield [name, value];
    if (this.cookies) for (const cookie of this.cookies) yield ['set-cookie', cookie];
  }

  *keys(): HeadersIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): HeadersIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }
}

/** HeaderMap's `deleteKnown` where `headers` is one, else `delete` (`name` lower-case). */
export function deleteKnown(headers: Headers, name: string): void {
  if (headers instanceof HeaderMap) headers.deleteKnown(name);
  else headers.delete(name);
}

/** HeaderMap's `setKnown` where `headers` is one, else `set` (same promise about name and value). */
export function setKnown(headers: Headers, name: string, value: string): void {
  if (headers instanceof HeaderMap) headers.setKnown(name, value);
  else headers.set(name, value);
}

/** Headers as a flat name, value, … list (see HeaderMap.toList), from a HeaderMap or any Headers. */
export function headerList(headers: Headers): string[] {
  if (headers instanceof HeaderMap) return headers.toList();
  const out: string[] = [];
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out.push(name, value);
  });
  for (const cookie of headers.getSetCookie()) out.push('set-cookie', cookie);
  return out;
}

/** Headers as node:http and undici take them, from a HeaderMap or any Headers. */
export function headerRecord(headers: Headers): Record<string, string | string[]> {
  if (headers instanceof HeaderMap) return headers.toRecord();
  const out: Record<string, string | string[]> = {};
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out[name] = value;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}
