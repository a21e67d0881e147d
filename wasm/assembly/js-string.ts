// The in-place string reads of the js-string build (scripts/build-wasm.mjs builds it from
// index-js-string.ts with --enable reference-types). The path stays a JS string: the module
// reads it through the JS String Builtins (`wasm:js-string`, which engines with the builtins
// supply themselves when the module is compiled with `{ builtins: ['js-string'] }`) and writes
// its bytes into the scratch itself, so the JS side copies nothing and never calls encodeInto.
// Everything after that read is the one matcher of matcher.ts, shared with the other builds.
import { STATUS_NO_MATCH } from './layout';
import { matchRoute } from './matcher';

@external("wasm:js-string", "charCodeAt")
declare function jsCharCodeAt(s: externref, i: i32): i32;

@external("wasm:js-string", "length")
declare function jsLength(s: externref): i32;

/** matchRouteStr's answer when the path is not ASCII or longer than the scratch: the caller encodes it. */
export const STATUS_NOT_COPIED: i32 = -4;

/**
 * Writes the UTF-16 units of `path` as bytes at `at` (4 per 32-bit store; up to 3 bytes past
 * the end are written, which the scratch's slack allows).
 * @returns the length, or -1 when a unit is not ASCII or the path is longer than `cap`.
 */
@inline
function copyIn(path: externref, at: usize, cap: u32): i32 {
  const n = jsLength(path);
  if (<u32>n > cap) return -1;
  let seen: u32 = 0;
  let i: i32 = 0;
  while (i + 4 <= n) {
    const a = <u32>jsCharCodeAt(path, i);
    const b = <u32>jsCharCodeAt(path, i + 1);
    const c = <u32>jsCharCodeAt(path, i + 2);
    const d = <u32>jsCharCodeAt(path, i + 3);
    seen |= a | b | c | d;
    store<u32>(at + <usize>i, a | (b << 8) | (c << 16) | (d << 24));
    i += 4;
  }
  while (i < n) {
    const c = <u32>jsCharCodeAt(path, i);
    seen |= c;
    store<u8>(at + <usize>i, <u8>c);
    i++;
  }
  return seen < 0x80 ? n : -1;
}

/**
 * matchRoute over a path given as a JS string: the module reads `path` itself into the scratch
 * at `pathPtr` (at most `cap` bytes), then matches it with the host already at
 * (host, hostLen). Param offsets are then string offsets, as the path is ASCII.
 * @returns matchRoute's answer, or STATUS_NOT_COPIED (nothing matched: encode and call
 *   matchRoute instead). A miss leaves the param output alone, as matchRoute does.
 */
export function matchRouteStr(
  table: u32, methodBit: u32, host: u32, hostLen: u32, pathPtr: u32, cap: u32, path: externref, from: i32,
): i32 {
  const len = copyIn(path, <usize>pathPtr, cap);
  if (len < 0) return STATUS_NOT_COPIED;
  const r = matchRoute(table, methodBit, host, hostLen, pathPtr, <u32>len, from);
  return r < 0 ? STATUS_NO_MATCH : r;
}
