import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.mjs'],
    // Each example starts processes of its own: run the files in child processes, one at a time.
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 120_000,
  },
});
