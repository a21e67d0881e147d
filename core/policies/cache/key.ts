/**
 * Cache keys. The full key is text, made of the route, the normalized URL with its query sorted
 * (ignored parameters left out), the chosen headers and cookies and, on an authenticated route
 * that does not share, the identity. The store sees its 64-bit XXH64 hash (the hot path's); the
 * full key travels in the entry and is compared on every read, so a collision is a miss, never
 * another key's response.
 */
import { hashKey } from '../../hot/index.ts';
import type { HotExports } from '../../hot/types.ts';
import type { Exchange } from '../../pipeline/policy.ts';

export interface KeySettings {
  ignoreQuery: RegExp[];
  headers: string[];
  cookies: string[];
  shared: boolean;
}

/** Host + normalized path + sorted query: what a purge by URL names. */
export function cacheUrl(host: string, path: string, search: string, ignore: readonly RegExp[]): string {
  if (search === '' || search === '?') return host + path;
  const params = [...new URLSearchParams(search)].filter(([name]) => !ignore.some((re) => re.test(name)));
  if (params.length === 0) return host + path;
  // A stable sort by name: repeated parameters keep their order, which an origin may rely on.
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `${host + path}?${new URLSearchParams(params).toString()}`;
}

/** The purge URL of an absolute URL given to the purge API or found in Location. */
export function cacheUrlOf(url: URL): string {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  return cacheUrl(host, url.pathname, url.search, []);
}

function cookieValue(header: string | null, name: string): string {
  if (header === null) return '';
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return '';
}

/**
 * The full primary key of a GET or HEAD, or null when the request cannot be keyed safely (an
 * identity with neither consumer nor subject on a route that does not share).
 */
export function primaryKey(ex: Exchange, settings: KeySettings, url: string): string | null {
  let key = `${ex.route.id}\n${url}`;
  for (const h of settings.headers) key += `\nh:${h}=${normalizeValue(ex.request.headers.get(h))}`;
  if (settings.cookies.length > 0) {
    const cookie = ex.request.headers.get('cookie');
    for (const c of settings.cookies) key += `\nc:${c}=${cookieValue(cookie, c)}`;
  }
  const id = ex.identity;
  if (id !== null && !settings.shared) {
    if (id.consumer === undefined && id.subject === undefined) return null;
    key += `\ni:${id.kind}:${id.consumer ?? ''}:${id.subject ?? ''}`;
  }
  return key;
}

/** A header value with its list separators and whitespace normalized (`gzip,br` = `gzip, br`). */
export function normalizeValue(value: string | null): string {
  return value === null
    ? ''
    : value
        .replace(/\s*,\s*/g, ',')
        .replace(/\s+/g, ' ')
        .trim();
}

/** The key of the variant of `primary` that `names` (the response's Vary) select for `headers`. */
export function variantKey(primary: string, names: readonly string[], headers: Headers): string {
  let key = `${primary}\nvary`;
  for (const n of names) key += `\n${n}=${normalizeValue(headers.get(n))}`;
  return key;
}

/** The store's key for a full key: 64 bits of XXH64, hex. */
export function storeKey(hot: HotExports, full: string): string {
  return `c:${hashKey(hot, full)}`;
}

/** The response's Vary as lower-case names, sorted; [] when it has none. */
export function varyNames(headers: Headers): string[] {
  const vary = headers.get('vary');
  if (vary === null) return [];
  const names = vary
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  return [...new Set(names)].sort();
}
