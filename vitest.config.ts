import { defineConfig } from 'vitest/config';

// CI sets THROUGHLINE_VITEST_JSON to get a machine-readable report beside the usual output.
const jsonReport = process.env.THROUGHLINE_VITEST_JSON;

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: jsonReport ? ['default', 'json'] : ['default'],
    ...(jsonReport ? { outputFile: { json: jsonReport } } : {}),
  },
});
