/**
 * SHA-256 (FIPS 180-4), synchronous, for the verified-token cache key. Why not
 * `crypto.subtle.digest`: it is async everywhere and, on Node, a thread-pool round trip
 * (about 17 µs per token measured on the bench machine, under load), several times the cost of
 * the rest of a cache hit. Tokens are ASCII (the grammar is checked first) and at most
 * `maxTokenBytes` long, so this works on the string's char codes directly, with no encoding.
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W = new Int32Array(64);
const H = new Int32Array(8);
/** The last one or two blocks: the rest of the message, 0x80, zeros, the bit length. */
const TAIL = new Uint8Array(128);
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** One 64-byte block, already in W[0..15], into H. */
function compress(): void {
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15] as number;
    const w2 = W[t - 2] as number;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = ((W[t - 16] as number) + s0 + (W[t - 7] as number) + s1) | 0;
  }
  let a = H[0] as number;
  let b = H[1] as number;
  let c = H[2] as number;
  let d = H[3] as number;
  let e = H[4] as number;
  let f = H[5] as number;
  let g = H[6] as number;
  let h = H[7] as number;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + (K[t] as number) + (W[t] as number)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = ((H[0] as number) + a) | 0;
  H[1] = ((H[1] as number) + b) | 0;
  H[2] = ((H[2] as number) + c) | 0;
  H[3] = ((H[3] as number) + d) | 0;
  H[4] = ((H[4] as number) + e) | 0;
  H[5] = ((H[5] as number) + f) | 0;
  H[6] = ((H[6] as number) + g) | 0;
  H[7] = ((H[7] as number) + h) | 0;
}

/** SHA-256 of an ASCII string (char codes below 256), as 64 hex digits. */
export function sha256Ascii(text: string): string {
  const length = text.length;
  H.set([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  // Whole blocks straight from the string's char codes: no copy.
  const whole = length >>> 6;
  for (let blk = 0; blk < whole; blk++) {
    const off = blk << 6;
    for (let t = 0; t < 16; t++) {
      const j = off + (t << 2);
      W[t] =
        ((text.charCodeAt(j) & 0xff) << 24) |
        ((text.charCodeAt(j + 1) & 0xff) << 16) |
        ((text.charCodeAt(j + 2) & 0xff) << 8) |
        (text.charCodeAt(j + 3) & 0xff);
    }
    compress();
  }
  // The tail: the last bytes, 0x80, zero padding and the 64-bit big-endian bit length.
  const rest = length - (whole << 6);
  const tailLength = rest + 9 > 64 ? 128 : 64;
  TAIL.fill(0);
  for (let i = 0; i < rest; i++) TAIL[i] = text.charCodeAt((whole << 6) + i) & 0xff;
  TAIL[rest] = 0x80;
  const bits = length * 8;
  TAIL[tailLength - 5] = Math.floor(bits / 0x100000000) & 0xff;
  TAIL[tailLength - 4] = (bits >>> 24) & 0xff;
  TAIL[tailLength - 3] = (bits >>> 16) & 0xff;
  TAIL[tailLength - 2] = (bits >>> 8) & 0xff;
  TAIL[tailLength - 1] = bits & 0xff;
  for (let off = 0; off < tailLength; off += 64) {
    for (let t = 0; t < 16; t++) {
      const j = off + (t << 2);
      W[t] =
        ((TAIL[j] as number) << 24) | ((TAIL[j + 1] as number) << 16) | ((TAIL[j + 2] as number) << 8) | (TAIL[j + 3] as number);
    }
    compress();
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    const word = H[i] as number;
    out += HEX[(word >>> 24) & 0xff]! + HEX[(word >>> 16) & 0xff]! + HEX[(word >>> 8) & 0xff]! + HEX[word & 0xff]!;
  }
  return out;
}
