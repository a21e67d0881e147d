/** SHA-256 through WebCrypto, the one digest every runtime portico targets has. */

const encoder = new TextEncoder();

/** SHA-256 of the UTF-8 bytes of `text` (or of the bytes given). @example await sha256('abc') // 32 bytes */
export async function sha256(input: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}
