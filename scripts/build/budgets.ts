/**
 * Size budgets per target, in bytes of the files each recipe marks as budgeted (the bundle and,
 * where it ships separately, the hot-path Wasm). The conformance suite asserts them; raise one
 * only with a reason in the commit.
 */
import type { TargetName } from './types.ts';

export const SIZE_BUDGETS: Record<TargetName, number> = {
  node: 1_500_000,
  deno: 400_000,
  vercel: 400_000,
  cloudflare: 400_000,
  fastly: 400_000,
  wasi: 400_000,
};

/** Fastly's compiled `bin/main.wasm` (engine + bundle) must stay under this. */
export const FASTLY_WASM_BUDGET = 16_000_000;
