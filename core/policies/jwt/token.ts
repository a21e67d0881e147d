/**
 * Where a route's token comes from, and the grammar it must have before anything decodes it:
 * RFC 6750 §2.1 (`Authorization: Bearer b64token`, scheme case-insensitive per RFC 9110 §11.1),
 * then the JWS compact form with STRICT base64url segments (RFC 7515 §2: no padding, no
 * whitespace, no stray bits). jose on Node 20 decodes base64url with Buffer, which ignores
 * padding and whitespace inside a segment, so a re-encoded signature would still verify there:
 * the check is ours.
 */
import type { TokenSource } from './compile.ts';

export type Extracted = { kind: 'missing' } | { kind: 'bad'; description: string } | { kind: 'token'; token: string };

const MISSING: Extracted = { kind: 'missing' };
/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** Three base64url segments; the signature is never empty (`none` is never accepted). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Last character of a segment whose length is 2 (mod 4): its low 4 bits must be zero. */
const LAST_OF_2 = /[AQgw]$/;
/** Last character of a segment whose length is 3 (mod 4): its low 2 bits must be zero. */
const LAST_OF_3 = /[AEIMQUYcgkosw048]$/;

function bad(description: string): Extracted {
  return { kind: 'bad', description };
}

/** Whether a base64url segment is canonical: a length that can be decoded, and no stray bits. */
function canonicalSegment(segment: string): boolean {
  switch (segment.length % 4) {
    case 0:
      return true;
    case 2:
      return LAST_OF_2.test(segment);
    case 3:
      return LAST_OF_3.test(segment);
    default:
      return false;
  }
}

/** Checks the JWS compact grammar on a candidate token. */
export function checkCompactJws(token: string): Extracted {
  if (!COMPACT_JWS.test(token)) return bad('the token is not a compact JWS of three base64url segments');
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (
    !canonicalSegment(token.slice(0, first)) ||
    !canonicalSegment(token.slice(first + 1, second)) ||
    !canonicalSegment(token.slice(second + 1))
  ) {
    return bad('the token is not strict base64url');
  }
  return { kind: 'token', token };
}

function cookieValue(header: string, name: string): string | null {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * Reads the token from the request. The size limit is checked on the raw value, before any
 * parsing; nothing here echoes the value.
 */
export function extractToken(headers: Headers, source: TokenSource, maxBytes: number): Extracted {
  let candidate: string;
  if (source.kind === 'bearer') {
    const value = headers.get('authorization');
    if (value === null || value === '') return MISSING;
    // `Bearer` + 1*SP + b64token; the scheme is case-insensitive (RFC 9110 §11.1).
    // Another scheme (Basic, or a word that only starts with "bearer") is no bearer token at all.
    if (value.slice(0, 6).toLowerCase() !== 'bearer') return MISSING;
    const sep = value.charCodeAt(6);
    if (value.length > 6 && sep !== 0x20) {
      if (sep === 0x09) return bad('the Bearer credentials do not follow the b64token grammar (RFC 6750)');
      return MISSING;
    }
    if (value.length > maxBytes + 64) return bad(`the token is larger than ${maxBytes} bytes`);
    if (value.length === 6) return bad('the Bearer credentials are empty');
    let i = 7;
    while (value.charCodeAt(i) === 0x20) i++;
    candidate = value.slice(i);
    if (candidate.length > maxBytes) return bad(`the token is larger than ${maxBytes} bytes`);
    if (!B64TOKEN.test(candidate)) return bad('the Bearer credentials do not follow the b64token grammar (RFC 6750)');
  } else if (source.kind === 'header') {
    const value = headers.get(source.name);
    if (value === null || value === '') return MISSING;
    if (value.length > maxBytes) return bad(`the token is larger than ${maxBytes} bytes`);
    candidate = value;
  } else {
    const header = headers.get('cookie');
    if (header === null) return MISSING;
    const value = cookieValue(header, source.name);
    if (value === null || value === '') return MISSING;
    if (value.length > maxBytes) return bad(`the token is larger than ${maxBytes} bytes`);
    candidate = value;
  }
  return checkCompactJws(candidate);
}
