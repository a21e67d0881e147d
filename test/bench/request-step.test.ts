/**
 * The request-step benchmark's correctness gate, without timings: each row (the step on Wasm,
 * wasm2js and the twin, the same work as three calls, the bare export) answers every benchmark
 * case as the oracle does, and the three builds give the same cache-key hashes. Timing belongs to
 * bench/request-step.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkStepBench } from '../../bench/request-step.ts';

describe('request-step benchmark rows', () => {
  it('answer every case of the three tables as the oracle does, with equal hashes across builds', async () => {
    const { checked } = await checkStepBench();
    // Per table, 5 rows × the requests of static, param1, param3 and mixed, then one hash per
    // mixed request: Hono 5 × (1 + 1 + 0 + 4) + 4, GitHub 5 × (1 + 1 + 1 + 4) + 4, multi-tenant
    // 5 × (1 + 1 + 1 + 5) + 5. A wrong answer throws before the count.
    expect(checked).toBe(34 + 39 + 45);
  }, 120_000);
});
