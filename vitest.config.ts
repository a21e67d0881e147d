import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real servers on loopback: keep files in separate forks, two at a time (CI has 2 cores).
    pool: 'forks',
    maxWorkers: 2,
  },
});
