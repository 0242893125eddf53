import { defineConfig } from 'vitest/config';

// Three tiers: unit tests sit beside pure modules; integration tests talk to a real local
// control plane (started once per run by the global setup) and real local servers; e2e runs on kind.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['operator/**/*.test.ts', 'proxy/**/*.test.ts', 'test/harness/**/*.test.ts', 'test/fixtures/**/*.test.ts', 'hack/**/*.test.ts', 'bench/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/harness/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
