// The system a chaos run attacks: the real local infrastructure, the card sandbox (its own process
// and ledger), the eight services each with its sidecar, second instances of the replicated ones, and
// (for duplicate delivery) an app that republishes a share of the saga events with their ids. Every
// process is registered with the supervisor, which restarts whatever dies on its own.
import { fileURLToPath } from 'node:url';
import { type AppId, appIds } from '@reservex/contracts';
import {
  type AppHandle,
  cardSandboxApp,
  type InfraInfo,
  paymentProviderEnv,
  type StartedApps,
  type StartedInfra,
  startApps,
  startInfra,
} from '@reservex/local';
import { edgeApp, type SigningKey } from '../e2e/edge/stack.ts';
import type { ChaosFlags } from './flags.ts';
import type { Supervisor } from './supervisor.ts';

export const REPLICATED = ['reservation', 'inventory', 'queue'] as const satisfies readonly AppId[];
/** Services that consume saga events: a pause of one holds deliveries up. */
export const CONSUMERS: readonly AppId[] = ['inventory', 'reservation', 'payment', 'ticket', 'query'];
export const DUPLICATOR = 'saga-duplicator';
const duplicatorMain = fileURLToPath(new URL('../e2e/saga/apps/duplicator.ts', import.meta.url));

export interface ChaosStack {
  infra: StartedInfra;
  info: InfraInfo;
  gateway: string;
  services: StartedApps<AppId>;
  sandbox: AppHandle;
  /** Every service instance by process name: `payment`, `inventory.2`. */
  instances: Map<string, AppHandle>;
  duplicator: AppHandle | undefined;
  /** Holds of a reservation last this long before the sweeper cancels it as EXPIRED. */
  holdTtlS: number;
  stop(): Promise<void>;
}

/** How fast the waiting room lets buyers in: every buyer admitted in the first 60 % of the sale. */
export function admissionRate(flags: Pick<ChaosFlags, 'buyers' | 'durationS'>): number {
  return Math.max(5, Math.ceil(flags.buyers / (flags.durationS * 0.6)));
}

export async function startChaosStack(
  flags: ChaosFlags,
  signingKey: SigningKey,
  supervisor: Supervisor,
  log: (line: string) => void,
): Promise<ChaosStack> {
  const infra = await startInfra({ label: 'chaos' });
  infra.run.onUnexpectedExit((process) => supervisor.onUnexpectedExit(process));
  for (const [name, control] of Object.entries(infra.processes)) supervisor.add(name, control);
  const onUnexpectedExit = (process: Parameters<Supervisor['onUnexpectedExit']>[0]) =>
    supervisor.onUnexpectedExit(process);
  const stops: (() => Promise<void>)[] = [() => infra.stop()];
  const stop = async () => {
    supervisor.close();
    for (const step of stops.reverse()) await step().catch(() => {});
  };
  try {
    const provider = await startApps({
      infra: infra.info,
      apps: [cardSandboxApp({ env: { LOG_LEVEL: 'warn' } })],
      onUnexpectedExit,
    });
    stops.push(() => provider.stop());
    const sandbox = provider.apps['card-sandbox'];
    supervisor.add(sandbox.appId, sandbox);

    const rate = admissionRate(flags);
    // Short enough that a stalled saga ends as EXPIRED within the quiet period.
    const holdTtlS = Math.min(120, Math.max(60, Math.round(flags.settleS / 2)));
    const env: Partial<Record<AppId, Record<string, string>>> = {
      gateway: {
        // Every buyer is 127.0.0.1: the per-address limit would be the first thing hit.
        RATE_LIMIT_ADDRESS_PER_SECOND: '1000000',
        RATE_LIMIT_ADDRESS_BURST: '1000000',
        RATE_LIMIT_USER_PER_SECOND: '50',
        RATE_LIMIT_USER_BURST: '100',
      },
      queue: {
        ADMISSION_RATE: String(rate),
        // A buyer whose booking failed keeps the slot to book again (until the pass and its grace
        // run out); these buyers do not, so only the rate meters the room.
        MAX_ACTIVE: String(flags.buyers + 10),
        SLOT_GRACE_MS: '90s',
      },
      reservation: { HOLD_TTL_SECONDS: String(holdTtlS) },
      payment: paymentProviderEnv(sandbox),
    };
    const specs = appIds.map((id) => {
      const own: Partial<Record<AppId, Record<string, string>>> = {};
      own[id] = { LOG_LEVEL: 'warn', ...env[id] };
      return { ...edgeApp(id, { signingKey, env: own }), readyTimeoutMs: 180_000 };
    });
    const extra = flags.faults.includes('duplicates')
      ? [
          {
            appId: DUPLICATOR,
            args: [duplicatorMain],
            logLevel: 'warn',
            readyTimeoutMs: 180_000,
            env: { DUPLICATE_PER_MILLE: String(Math.round(flags.duplicateShare * 1000)) },
          },
        ]
      : [];
    const services = (await startApps({
      infra: infra.info,
      apps: [...specs, ...extra],
      onUnexpectedExit,
    })) as StartedApps<string> as StartedApps<AppId>;
    stops.push(() => services.stop());
    const instances = new Map<string, AppHandle>();
    for (const id of appIds) instances.set(id, services.apps[id]);
    if (flags.faults.includes('replicas')) {
      // Side by side: each has ports and a process of its own.
      const replicas = await Promise.all(
        REPLICATED.map(async (id) => [id, await services.addReplica(id)] as const),
      );
      for (const [id, replica] of replicas) {
        instances.set(`${id}.2`, replica);
        log(`replica ${id}.2 up (pid ${replica.pid()}, sidecar pid ${replica.sidecar?.pid()})`);
      }
    }
    for (const [name, handle] of instances) {
      supervisor.add(name, handle);
      if (handle.sidecar) supervisor.add(`${name}.daprd`, handle.sidecar);
    }
    const duplicator = (services.apps as Record<string, AppHandle>)[DUPLICATOR];
    if (duplicator) {
      supervisor.add(DUPLICATOR, duplicator);
      if (duplicator.sidecar) supervisor.add(`${DUPLICATOR}.daprd`, duplicator.sidecar);
    }
    return {
      infra,
      info: infra.info,
      gateway: services.apps.gateway.url,
      services,
      sandbox,
      instances,
      duplicator,
      holdTtlS,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
