/**
 * How an identity value becomes a header value. Identity comes from a token or a KV record, so it
 * may hold anything: CR/LF (header injection), non-ASCII text (which `Headers` refuses or a
 * runtime mangles), leading spaces (which `Headers` trims). The rule is one an origin can undo:
 *
 * - the UTF-8 bytes of the value are kept where they are printable ASCII (0x20–0x7E) other than
 *   `%`; every other byte (controls, CR, LF, DEL, non-ASCII, `%` itself) is percent-encoded,
 *   `%0D`, `%C3%A9`, `%25`: `decodeURIComponent` gives back the exact value;
 * - a leading or trailing space is encoded too (`%20`), so no runtime trims it away;
 * - arrays: each element so encoded, with the separator also encoded inside elements, then
 *   joined: scopes with a space (as the OAuth `scope` claim), other arrays with `,`;
 * - objects: their JSON, encoded; numbers and booleans: as JSON writes them;
 * - null, an empty string or an empty array: no header.
 */

const encoder = new TextEncoder();
const HEX = '0123456789ABCDEF';

function encodeText(text: string, separator: number): string {
  const bytes = encoder.encode(text);
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    const edgeSpace = b === 0x20 && (i === 0 || i === bytes.length - 1);
    if (b >= 0x20 && b <= 0x7e && b !== 0x25 && b !== separator && !edgeSpace) out += String.fromCharCode(b);
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

function scalar(value: unknown, separator: number): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value === '' ? null : encodeText(value, separator);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return value.toString();
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return null;
  }
  return json === undefined ? null : encodeText(json, separator);
}

/**
 * The header value for an identity value, or null when nothing is to be sent.
 * @param join the array separator: `' '` for scopes, `','` for other claims
 * @example identityHeaderValue('José\r\nx', ',') // "Jos%C3%A9%0D%0Ax"
 */
export function identityHeaderValue(value: unknown, join: ' ' | ','): string | null {
  if (!Array.isArray(value)) return scalar(value, -1);
  const separator = join.charCodeAt(0);
  const parts: string[] = [];
  for (const element of value) {
    const part = scalar(element, separator);
    if (part !== null) parts.push(part);
  }
  return parts.length === 0 ? null : parts.join(join);
}
