/**
 * `npm test` runs `biome check` before the tests: its output must be empty of notices, so that
 * what a developer reads is the tests.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIOME = fileURLToPath(new URL('../../node_modules/@biomejs/biome/bin/biome', import.meta.url));

describe('biome check', () => {
  it('passes with no diagnostics at all (no infos, no warnings, no deprecations)', () => {
    const r = spawnSync(process.execPath, [BIOME, 'check', '--max-diagnostics=20'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const output = `${r.stdout}${r.stderr}`;
    // Every diagnostic biome prints has a header line with a rule name and a rule of ━.
    const diagnostics = output.split('\n').filter((line) => line.includes('━━'));
    expect(diagnostics).toEqual([]);
    expect(output).not.toMatch(/Found \d+ (infos?|warnings?|errors?)/);
    expect(r.status).toBe(0);
  });
});
