import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Vite compiles .ts, .mts and .tsx by default; src/load-addon.cts (CommonJS) too.
  oxc: { include: /\.(m?ts|cts|[jt]sx)$/ },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 30_000,
    globalSetup: ['test/global-setup.ts'],
    // CI (.ci/run) collects every package's results from this directory.
    reporters: process.env.RINGWIRE_TEST_JSON_DIR
      ? ['default', ['json', { outputFile: `${process.env.RINGWIRE_TEST_JSON_DIR}/core.json` }]]
      : ['default'],
  },
});
