// The no-op chain as the bench drives it: five chain apps (app.ts) under the saga services' app ids,
// each with its daprd started by startApps exactly as the service's is. Bookings go to the chain's
// reservation, completion is read in the chain's query, the stock in the chain's inventory.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type AppSpec, startApps, type startInfra } from '@reservex/local';
import { asGatewayCall, benchAdmin } from '../allocation.ts';
import type { Running } from '../drive.ts';
import { type SagaApp, sagaApps, sagaCalls } from '../reservex.ts';

type Infra = Awaited<ReturnType<typeof startInfra>>;
export type ChainVariant = 'pubsub' | 'outbox';

const chainApp = fileURLToPath(new URL('./app.ts', import.meta.url));

export async function startChain(
  infra: Infra,
  variant: ChainVariant,
  print: (line: string) => void,
): Promise<Running> {
  // A fresh database per start for the outbox variant: its inbox and outbox begin empty every round.
  const tag = randomUUID().slice(0, 8);
  const specs: AppSpec<SagaApp>[] = sagaApps.map((appId) => ({
    appId,
    args: [chainApp],
    ...(variant === 'outbox' ? { database: `chain_${appId}_${tag}` } : {}),
    env: { CHAIN_VARIANT: variant },
    logLevel: 'warn',
    readyTimeoutMs: 180_000,
  }));
  print(`\n[bench] chain (${variant}): starting ${sagaApps.join(', ')} chain apps with their sidecars`);
  const started = await startApps({ infra: infra.info, apps: specs });
  const { inventory } = started.apps;
  return {
    async createShow(title, capacity) {
      const response = await fetch(`${inventory.url}/v1/shows`, {
        method: 'POST',
        headers: asGatewayCall(inventory, benchAdmin),
        body: JSON.stringify({ title, capacity }),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status !== 201) throw new Error(`chain show: ${response.status} ${await response.text()}`);
      return { showId: ((await response.json()) as { id: string }).id };
    },
    ...sagaCalls(infra, started.apps, () => ({ headers: {}, body: {} })),
    stop: () => started.stop(),
  };
}
