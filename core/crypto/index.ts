/** Small byte and digest helpers shared by the API-key policy and the gateway assertion (Web APIs only). */
export { timingSafeEqual } from './timing-safe-equal.ts';
export { fromBase64Url, fromHex, toBase64Url, toHex } from './encoding.ts';
export { sha256 } from './sha256.ts';
