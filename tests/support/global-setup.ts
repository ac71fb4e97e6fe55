// Global setup of the `stack` test project: provisions (a no-op when the cache is warm) and starts
// Postgres, Redis, Kafka and Jaeger once, and hands their addresses to every test file through
// `inject('infra')`. Test files start the apps they need with `startApps` from @reservex/local.
import { startInfra } from '@reservex/local';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = await startInfra();
  project.provide('infra', infra.info);
  return () => infra.stop();
}
