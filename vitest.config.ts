// Four projects when run from the repository root:
// - `unit`: every package's unit tests (no infrastructure), so `vitest run services/inventory` works
//   from the root as it does from the package (`npm test` runs them all here, in one process);
// - `chart`: the chart's checks that need none of the local infrastructure (render, policy, the
//   Tiltfile, the chart on a real API server); `npm test` runs them beside the typecheck, lint and
//   unit tests (`local/bin/test-all`), each of which keeps one core busy;
// - `stack`: tests against the real local infrastructure (Postgres, Redis, Kafka, Jaeger, daprd),
//   which the global setup provisions and starts once for the whole run (`npm test` runs this one
//   after the others);
// - `stack-waits`: stack files whose time goes mostly to waiting on clocks (holds expiring, a replay
//   noticing it is idle, a waiting room admitting at its pace, `npm start` with its own
//   infrastructure); `npm test` runs them beside `stack`, on an infrastructure of their own.
// Vitest also finds this file from inside a package (`npm run test:unit` there); then it is just
// that package's unit tests, each file isolated.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const fromRoot = resolve(process.cwd()) === resolve(root);
const notUnit = [...configDefaults.exclude, '**/*.int.test.ts'];
/** The chart's checks that need no local stack: all but the image check, which runs the services. */
const chartAlone = 'tests/e2e/chart/!(images).test.ts';
const long = { testTimeout: 120_000, hookTimeout: 300_000, teardownTimeout: 60_000 };
const stackFiles = [
  'services/*/src/**/*.int.test.ts',
  'local/src/**/*.int.test.ts',
  'local/operator/src/**/*.int.test.ts',
  'tests/e2e/**/*.test.ts',
];
/** Stack files that mostly wait on clocks, not the CPU: they can share the machine with the others. */
const waitingFiles = [
  'services/query/src/read-model.int.test.ts',
  'services/reservation/src/api.int.test.ts',
  'tests/e2e/saga/paths.test.ts',
  'tests/e2e/edge/streams.test.ts',
  'local/operator/src/cli.int.test.ts',
];
/** One file at a time in each lane: a lane's files share its infrastructure. */
const stackLane = {
  globalSetup: ['tests/support/global-setup.ts'],
  fileParallelism: false,
  ...long,
};

export default defineConfig({
  test: fromRoot
    ? {
        projects: [
          {
            test: {
              name: 'unit',
              include: [
                'services/*/src/**/*.test.ts',
                'local/src/**/*.test.ts',
                'local/operator/src/**/*.test.ts',
                'tests/chaos/**/*.test.ts',
                'tests/bench/**/*.test.ts',
              ],
              exclude: notUnit,
              // One module graph for all files: importing hono, zod, drizzle and OpenTelemetry once
              // instead of once per file was most of the run's time. A file must not rely on fresh
              // module state (`npm run test:unit` in a package still runs each file isolated).
              isolate: false,
            },
          },
          {
            test: {
              name: 'chart',
              include: [chartAlone],
              fileParallelism: false,
              ...long,
            },
          },
          {
            test: {
              name: 'stack',
              include: stackFiles,
              exclude: [...configDefaults.exclude, chartAlone, ...waitingFiles],
              ...stackLane,
            },
          },
          {
            test: { name: 'stack-waits', include: waitingFiles, ...stackLane },
          },
        ],
      }
    : { exclude: notUnit },
});
