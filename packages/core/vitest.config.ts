import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 30_000,
    globalSetup: ['test/global-setup.ts'],
    reporters: process.env.RINGWIRE_TEST_JSON
      ? ['default', ['json', { outputFile: process.env.RINGWIRE_TEST_JSON }]]
      : ['default'],
  },
});
