// Unit tests run per package (`turbo run test:unit`); this root config holds the `stack` project:
// tests against the real local infrastructure (Postgres, Redis, Kafka, Jaeger, daprd), which the
// global setup provisions and starts once for the whole run.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'stack',
          include: [
            'services/*/src/**/*.int.test.ts',
            'local/src/**/*.int.test.ts',
            'tests/e2e/**/*.test.ts',
          ],
          globalSetup: ['tests/support/global-setup.ts'],
          // One file at a time: the files share the infrastructure and a 2-core machine.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
          teardownTimeout: 60_000,
        },
      },
    ],
  },
});
