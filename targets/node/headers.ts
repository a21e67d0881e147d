/**
 * Web Headers as node:http and undici take them: one value per name, `set-cookie` as a list
 * (Headers would join its values with ", ", which breaks cookies).
 */
export function nodeHeaders(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out[name] = value;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}
