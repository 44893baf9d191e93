import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.mjs'],
    // Each example starts processes of its own: run the files in child processes, one at a time.
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 120_000,
    // CI (.ci/run) collects every package's results from this directory.
    reporters: process.env.RINGWIRE_TEST_JSON_DIR
      ? ['default', ['json', { outputFile: `${process.env.RINGWIRE_TEST_JSON_DIR}/examples.json` }]]
      : ['default'],
  },
});
