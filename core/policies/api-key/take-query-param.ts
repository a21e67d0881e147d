/**
 * Removes one parameter from a query string and returns its values, leaving every other
 * parameter exactly as it was written (byte for byte, order kept). `URLSearchParams` would
 * re-serialize the whole query (`%20` becomes `+`, `~` gets escaped...), and an origin that signs
 * or caches on its query would see a different one.
 */

export interface TakenParam {
  /** Values of the parameter, decoded as a form would be (`+` is a space), in order; empty when absent. */
  values: string[];
  /** Whether a value could not be decoded (a malformed escape). */
  malformed: boolean;
  /** The query without the parameter, with its `?`, or "" when nothing (but empty pieces) is left. */
  search: string;
}

function decodeFormComponent(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/**
 * @param search a query with its leading `?`, or ""
 * @param name the parameter, compared after decoding its name (so `api%5Fkey` is `api_key`)
 * @example takeQueryParam('?a=1&api_key=k&b=%20', 'api_key') // { values: ['k'], malformed: false, search: '?a=1&b=%20' }
 */
export function takeQueryParam(search: string, name: string): TakenParam {
  if (search.length <= 1) return { values: [], malformed: false, search };
  const parts = search.slice(1).split('&');
  const kept: string[] = [];
  const values: string[] = [];
  let malformed = false;
  for (const part of parts) {
    const eq = part.indexOf('=');
    const rawName = eq === -1 ? part : part.slice(0, eq);
    // Cheap test first: most parameters are not this one in any spelling.
    const decodedName =
      rawName === name ? name : rawName.includes('%') || rawName.includes('+') ? decodeFormComponent(rawName) : rawName;
    if (decodedName !== name) {
      kept.push(part);
      continue;
    }
    const value = eq === -1 ? '' : decodeFormComponent(part.slice(eq + 1));
    if (value === null) malformed = true;
    else values.push(value);
  }
  if (values.length === 0 && !malformed) return { values, malformed, search };
  const rest = kept.join('&');
  return { values, malformed, search: rest === '' ? '' : `?${rest}` };
}
