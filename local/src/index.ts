// The local stack as a library, the test harness: provisioning, shared infrastructure, apps with
// sidecars, the system. Used by the stack tests (tests/support/global-setup.ts + startApps) and by the
// operator's commands (local/operator: `npm start`, the walkthrough, traces of the running stack).
import { fileURLToPath } from 'node:url';

export {
  type AppHandle,
  type AppPorts,
  type AppSpec,
  type AppTokens,
  appEnv,
  deliveredBy,
  publishAs,
  type StartAppsOptions,
  type StartedApps,
  startApps,
} from './apps.ts';
export type { ProcessControl } from './control.ts';
export { eventKeyEnv, eventKeysOf, signedCloudEvent } from './event-keys.ts';
export { COMPONENTS, KAFKA_PROTOCOL_VERSION, MAX_MESSAGE_BYTES, RESILIENCY } from './infra/dapr-resources.ts';
export {
  databaseUrl,
  ensureDatabase,
  type InfraInfo,
  type InfraLaunch,
  launchInfra,
  type StartedInfra,
  type StartInfraOptions,
  startInfra,
} from './infra/index.ts';
export { TOPIC_PARTITIONS } from './infra/kafka.ts';
export { SENTRY_AUDIENCE, sentryToken, spiffeIdOf } from './infra/sentry.ts';
export { cacheDir, repoRoot, runsDir } from './paths.ts';
export { canBind, freePort, waitUntilFree } from './ports.ts';
export { elapsed, say } from './progress.ts';
export { provisionChromium } from './provision/browser.ts';
export { provision, type Toolchain } from './provision/index.ts';
export { isAlive, type Run, reapStaleRuns } from './run.ts';
export {
  cardSandbox,
  cardSandboxApp,
  LOCAL_SECRETS,
  paymentProviderEnv,
  presentServices,
  type ServiceDefinition,
  type StartedSystem,
  type StartSystemOptions,
  sandboxAddress,
  serviceApp,
  services,
  startSystem,
} from './services.ts';
export { type Exit, type Supervised, signalGroup } from './supervisor.ts';

import type {} from 'vitest';
import type { InfraInfo } from './infra/index.ts';

// What the stack tests' global setup provides: `inject('infra')` is typed wherever this is imported.
declare module 'vitest' {
  export interface ProvidedContext {
    infra: InfraInfo;
  }
}

/** A minimal Dapr app (plain node:http): subscribes to PROBE_TOPICS, records, publishes on request. */
export const probeApp = fileURLToPath(new URL('./test-apps/probe.ts', import.meta.url));
