// The registry of ReserveX services as the local stack runs them: app id, entry point and the shared
// infrastructure each one gets come from the contracts' deployments (which each service's
// declaration is checked against); the service-specific environment of a local run is added here.
// Every service also receives the common environment of apps.ts (SERVICE_NAME, PORT, DAPR_*,
// OTEL_EXPORTER_OTLP_ENDPOINT, LOG_LEVEL).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type AppId, appIds, deployments, mainOf } from '@reservex/contracts';
import { type AppHandle, type AppSpec, type StartedApps, startApps } from './apps.ts';
import { type StartedInfra, type StartInfraOptions, startInfra } from './infra/index.ts';
import { repoRoot } from './paths.ts';
import type { Supervised } from './supervisor.ts';

export interface ServiceDefinition {
  appId: AppId;
  /** Entry point, relative to the repository root. */
  main: string;
  /** Owns a Postgres database (named after the service), passed as DATABASE_URL. */
  database: boolean;
  /** Uses Redis directly (REDIS_URL): sorted sets, Lua rate limiting. */
  redis: boolean;
  /** Service-specific environment for a local run. */
  env: Record<string, string>;
}

/** A service as its declaration describes it (the contracts' deployments), with a local run's env. */
function service(appId: AppId, env: Record<string, string> = {}): ServiceDefinition {
  const { database, redis } = deployments[appId];
  return { appId, main: mainOf(appId), database, redis, env };
}

/**
 * Secrets of a local run. Fixed, public and useless anywhere else: the waiting room and the
 * reservation service must share the pass-token key, and a ticket's QR code should still verify
 * after the ticket service restarts (chaos tests restart it).
 */
export const LOCAL_SECRETS = {
  PASS_TOKEN_SECRET: 'local-only-pass-token-secret-not-for-deployment',
  TICKET_SIGNING_SECRET: 'local-only-ticket-signing-secret-not-for-deployment',
  SIGNING_KEY_ENCRYPTION_KEY: 'local-only-signing-key-encryption-key-not-for-deployment',
} as const;

export const services: Record<AppId, ServiceDefinition> = {
  // Any page may call the local API; a deployment lists its origins (CORS_ORIGINS).
  gateway: service('gateway', { CORS_ORIGINS: '*' }),
  account: service('account', { SIGNING_KEY_ENCRYPTION_KEY: LOCAL_SECRETS.SIGNING_KEY_ENCRYPTION_KEY }),
  queue: service('queue', { PASS_TOKEN_SECRET: LOCAL_SECRETS.PASS_TOKEN_SECRET }),
  inventory: service('inventory'),
  reservation: service('reservation', { PASS_TOKEN_SECRET: LOCAL_SECRETS.PASS_TOKEN_SECRET }),
  payment: service('payment'),
  ticket: service('ticket', { TICKET_SIGNING_SECRET: LOCAL_SECRETS.TICKET_SIGNING_SECRET }),
  query: service('query'),
};

/**
 * The card sandbox: a stand-in for an external card provider, declared like the services but without
 * a sidecar (the contracts' `sidecarless`: payment reaches a provider over plain HTTP(S), not through
 * Dapr), with its own ledger database and an API key made up for each run.
 */
export const cardSandbox = { appId: 'card-sandbox', main: mainOf('card-sandbox') } as const;

export function cardSandboxApp(
  options: { database?: string; env?: Record<string, string>; port?: number } = {},
): AppSpec<typeof cardSandbox.appId> {
  return {
    appId: cardSandbox.appId,
    ...(options.port ? { port: options.port } : {}),
    args: [cardSandbox.main],
    database: options.database ?? 'card_sandbox',
    sidecar: false,
    env: { SANDBOX_API_KEY: randomBytes(24).toString('base64url'), ...options.env },
    readyTimeoutMs: 120_000,
  };
}

/**
 * What payment needs to reach a card sandbox: a running one, or one about to start on a port chosen
 * beforehand (`cardSandboxApp({ port })`, then `sandboxAddress`), so payment need not wait for it.
 */
export function paymentProviderEnv(sandbox: Pick<AppHandle, 'url' | 'env'>): Record<string, string> {
  return {
    PAYMENT_PROVIDER_URL: sandbox.url,
    PAYMENT_PROVIDER_API_KEY: sandbox.env.SANDBOX_API_KEY ?? '',
  };
}

/** Where a card sandbox started from `spec` answers, before it is up. */
export function sandboxAddress(spec: AppSpec): Pick<AppHandle, 'url' | 'env'> {
  if (spec.port === undefined)
    throw new Error(`${spec.appId}: its port is chosen at start, not known before`);
  return { url: `http://127.0.0.1:${spec.port}`, env: spec.env ?? {} };
}

/** How a service runs as an app of the local stack. */
export function serviceApp(definition: ServiceDefinition, env: Record<string, string> = {}): AppSpec<AppId> {
  return {
    appId: definition.appId,
    args: [definition.main],
    ...(definition.database ? { database: definition.appId } : {}),
    redis: definition.redis,
    env: { ...definition.env, ...env },
    readyTimeoutMs: 120_000,
  };
}

/** Services whose entry point exists in this checkout (all eight once they are written). */
export function presentServices(root = repoRoot): ServiceDefinition[] {
  return appIds.map((id) => services[id]).filter((s) => existsSync(join(root, s.main)));
}

export interface StartedSystem {
  infra: StartedInfra;
  apps: StartedApps<AppId>;
  /** The card provider payment talks to. */
  cardSandbox: AppHandle;
  services: ServiceDefinition[];
  stop(): Promise<void>;
}

export interface StartSystemOptions extends StartInfraOptions {
  /** Only these services (default: every present one). */
  only?: readonly AppId[];
  onUnexpectedExit?: (process: Supervised) => void;
}

/** The whole system: infrastructure plus every present service, each with its sidecar. */
export async function startSystem(options: StartSystemOptions = {}): Promise<StartedSystem> {
  const infra = await startInfra(options);
  if (options.onUnexpectedExit) infra.run.onUnexpectedExit(options.onUnexpectedExit);
  const chosen = presentServices().filter((s) => !options.only || options.only.includes(s.appId));
  const onExit = options.onUnexpectedExit ? { onUnexpectedExit: options.onUnexpectedExit } : {};
  let provider: StartedApps<typeof cardSandbox.appId> | undefined;
  try {
    // The provider first: payment is configured with its address.
    provider = await startApps({ infra: infra.info, apps: [cardSandboxApp()], ...onExit });
    const sandbox = provider.apps[cardSandbox.appId];
    const apps = await startApps({
      infra: infra.info,
      apps: chosen.map((s) => serviceApp(s, s.appId === 'payment' ? paymentProviderEnv(sandbox) : {})),
      ...onExit,
    });
    const started = provider;
    return {
      infra,
      apps,
      cardSandbox: sandbox,
      services: chosen,
      async stop() {
        await apps.stop();
        await started.stop();
        await infra.stop();
      },
    };
  } catch (error) {
    await provider?.stop();
    await infra.stop();
    throw error;
  }
}
