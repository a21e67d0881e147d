/**
 * Byte comparison whose running time depends only on the lengths, never on where the inputs
 * first differ: what a signature or key check needs, so that an attacker cannot learn a secret a
 * byte at a time from response times. WebCrypto has no such primitive on every runtime
 * (`crypto.subtle.timingSafeEqual` is a Workers extension, `crypto.timingSafeEqual` is Node's), so
 * core has its own: a few lines over `Uint8Array`, the same on every engine.
 */

/**
 * Whether `a` and `b` hold the same bytes. Inputs of different lengths are unequal at once: the
 * lengths here are those of digests and signatures, which are public.
 * @example timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])) // true
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  // No early exit: every byte is visited and folded into `diff`, whatever the earlier ones were.
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
