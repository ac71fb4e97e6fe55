// The no-op chain as the bench drives it: five chain apps (app.ts) under the saga services' app ids,
// each with its daprd started by startApps exactly as the service's is. Bookings go to the chain's
// reservation, completion is read in the chain's query, the stock in the chain's inventory.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type AppSpec, startApps, type startInfra } from '@reservex/local';
import { asGatewayCall, benchAdmin } from '../allocation.ts';
import type { Running, Stock } from '../drive.ts';
import { infraProcesses, type SagaApp, sagaApps } from '../reservex.ts';

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
  const { inventory, reservation, query } = started.apps;
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
    async book(userId, show) {
      const response = await fetch(`${reservation.url}/v1/reservations`, {
        method: 'POST',
        headers: { ...asGatewayCall(reservation, { id: userId }), 'idempotency-key': randomUUID() },
        body: JSON.stringify({ ...show, quantity: 1 }),
      });
      if (response.status !== 201)
        return { error: `${response.status} ${(await response.text()).slice(0, 200)}` };
      return { id: ((await response.json()) as { id: string }).id };
    },
    async settled(userId, reservationId) {
      const response = await fetch(`${query.url}/v1/reservations/${reservationId}`, {
        headers: asGatewayCall(query, { id: userId }),
      });
      if (response.status !== 200) {
        await response.arrayBuffer();
        return undefined;
      }
      const details = (await response.json()) as { status: string };
      if (details.status === 'CONFIRMED') return { status: 'CONFIRMED', reason: null };
      if (details.status === 'CANCELLED') return { status: 'CANCELLED', reason: 'SOLD_OUT' };
      return undefined;
    },
    async stock(show) {
      const response = await fetch(`${inventory.url}/v1/shows/${show.showId}/stock`, {
        headers: asGatewayCall(inventory, benchAdmin),
      });
      if (response.status !== 200) return undefined;
      return ((await response.json()) as { stock: Stock[] }).stock[0];
    },
    processes: () => ({
      ...Object.fromEntries(
        sagaApps.flatMap((app) => [
          [app, started.apps[app].pid()],
          [`${app} daprd`, started.apps[app].sidecar?.pid()],
        ]),
      ),
      ...infraProcesses(infra),
    }),
    stop: () => started.stop(),
  };
}
