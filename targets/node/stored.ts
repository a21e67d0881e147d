/**
 * Writes a cache hit (a StoredResponse, core/policies/cache/stored-response.ts) to Node's
 * ServerResponse: status, headers and the stored bytes in one `writeHead` and one `end`, which
 * node:http sends as one write. No WHATWG Response, Headers or stream is made for it; respond.ts
 * would read the same bytes back from a web stream first.
 */
import type { ServerResponse } from 'node:http';
import { storedBytes } from '../../core/policies/cache/index.ts';
import { nodeHeaders } from './headers.ts';

/**
 * Writes `response` if it is a StoredResponse whose bytes nobody has taken; false otherwise (then
 * it is written as any Response).
 * @example if (!writeStored(response, serverResponse)) await writeResponse(response, serverResponse, options);
 */
export function writeStored(response: Response, out: ServerResponse): boolean {
  const bytes = storedBytes(response);
  if (bytes === undefined) return false;
  const headers = nodeHeaders(response.headers);
  // As respond.ts does for a body that is all here: its length, unless the stored headers say it.
  // (Never on a 204 or 304, which carry no body: core hands those over with bytes null.)
  if (bytes !== null) headers['content-length'] ??= String(bytes.byteLength);
  out.writeHead(response.status, headers);
  out.end(bytes ?? undefined);
  return true;
}
