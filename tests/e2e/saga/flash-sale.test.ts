// A flash sale on the real stack: SAGA_E2E_BUYERS buyers (default 500) at once, one ticket each, for
// SAGA_E2E_TICKETS tickets (default 100). Exactly the tickets are CONFIRMED, everyone else is
// CANCELLED(SOLD_OUT); the inventory invariant holds; and the three services that keep their own
// books agree: sold = valid tickets = captured payments. And the same sale opening while inventory
// is down: the requests wait in Kafka and are drained in bulk deliveries when it returns.
import { createDatabase } from '@reservex/platform/db';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type Buyer, finalStatuses, type SagaStack, startSagaStack } from './support.ts';

const infra = inject('infra');
const BUYERS = Number(process.env.SAGA_E2E_BUYERS ?? 500);
const TICKETS = Number(process.env.SAGA_E2E_TICKETS ?? 100);
const SETTLE_MS = Number(process.env.SAGA_E2E_SETTLE_MS ?? 600_000);
let saga: SagaStack;

beforeAll(async () => {
  saga = await startSagaStack({
    infra,
    // Holds must outlive the whole sale here: this test is about contention, not expiry.
    // The catalogue answer reservation caches outlives inventory's outage in the second test.
    env: {
      reservation: {
        HOLD_TTL_SECONDS: String(Math.ceil(SETTLE_MS / 1000) + 600),
        CATALOGUE_CACHE_MS: '120000',
      },
    },
  });
  await saga.warmUp();
});
afterAll(() => saga?.stop());

/** Runs `work` over `items`, `limit` at a time. */
async function inBatches<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit)
    results.push(...(await Promise.all(items.slice(i, i + limit).map(work))));
  return results;
}

type Sale = { buyer: Buyer; id: string };

/** Polls the open sagas until every one has ended, for at most `timeoutMs`. */
async function settle(sales: Sale[], timeoutMs: number) {
  const outcomes = new Map<string, { status: string; reason: string | null }>();
  await vi.waitFor(
    async () => {
      const open = sales.filter((s) => !outcomes.has(s.id));
      await inBatches(open, 50, async ({ buyer, id }) => {
        const r = await buyer.reservation(id);
        if (finalStatuses.includes(r?.status)) outcomes.set(id, { status: r.status, reason: r.reason });
      });
      expect(outcomes.size, 'sagas ended in time').toBe(sales.length);
    },
    { timeout: timeoutMs, interval: 1000 },
  );
  return outcomes;
}

describe('flash sale', () => {
  it(
    `${BUYERS} concurrent buyers for ${TICKETS} tickets: exactly ${TICKETS} confirmed, no oversell, the books agree`,
    async () => {
      expect(BUYERS).toBeGreaterThan(TICKETS);
      const show = await saga.admin.createShow({ capacity: TICKETS, perOrderLimit: 1, priceMinor: 5000 });
      const buyers = Array.from({ length: BUYERS }, () => saga.buyer());
      const started = performance.now();

      const placed = await Promise.all(buyers.map((buyer) => buyer.reserve(show)));
      expect(placed.filter((p) => p.status !== 201).map((p) => p.body)).toEqual([]);
      const sales = buyers.map((buyer, i) => ({ buyer, id: placed[i]!.body.id as string }));
      const accepted = performance.now();

      const outcomes = await settle(sales, SETTLE_MS);
      const settled = performance.now();
      const seconds = (ms: number) => Math.round(ms / 100) / 10;
      console.warn(
        `flash sale: ${BUYERS} buyers, ${TICKETS} tickets; all accepted in ${seconds(accepted - started)} s, ` +
          `all sagas ended ${seconds(settled - started)} s after the first request`,
      );

      expect(outcomes.size, 'sagas ended in time').toBe(BUYERS);
      const confirmed = sales.filter((s) => outcomes.get(s.id)?.status === 'CONFIRMED');
      const cancelled = [...outcomes.values()].filter((o) => o.status === 'CANCELLED');
      expect(confirmed).toHaveLength(TICKETS);
      expect(cancelled).toHaveLength(BUYERS - TICKETS);
      expect(cancelled.every((o) => o.reason === 'SOLD_OUT')).toBe(true);

      const stock = await saga.admin.stock(show.showId);
      expect(stock).toEqual({
        ticketTypeId: show.ticketTypeId,
        capacity: TICKETS,
        available: 0,
        held: 0,
        sold: TICKETS,
      });

      // Valid tickets, from the ticket service, for the tickets each confirmed reservation lists.
      const ticketIds = await inBatches(
        confirmed,
        25,
        async ({ buyer, id }: { buyer: Buyer; id: string }) => {
          const ids = await vi.waitFor(
            async () => {
              const ticketIds: string[] = (await buyer.details(id)).body?.tickets?.ticketIds ?? [];
              expect(ticketIds).not.toEqual([]);
              return ticketIds;
            },
            { timeout: 30_000, interval: 500 },
          );
          return { buyer, ids };
        },
      );
      const valid = await inBatches(
        ticketIds.flatMap(({ buyer, ids }) => ids.map((ticketId) => ({ buyer, ticketId }))),
        25,
        async ({ buyer, ticketId }) => (await buyer.ticket(ticketId)).body?.status === 'valid',
      );
      expect(valid.filter(Boolean)).toHaveLength(stock.sold);

      // Captured payments, from the payment service: one per confirmed buyer, none for the others.
      const payments = await inBatches(sales, 25, async ({ buyer, id }) => {
        const answer = await buyer.payment(id);
        return answer.status === 200 ? (answer.body.status as string) : 'none';
      });
      expect(payments.filter((p) => p === 'captured')).toHaveLength(stock.sold);
      expect(payments.filter((p) => p === 'none')).toHaveLength(BUYERS - TICKETS);
    },
    SETTLE_MS + 300_000,
  );

  it(
    'opening while inventory is down: 300 requests wait in Kafka, are drained in bulk when it returns, still no oversell',
    async () => {
      const requests = 300;
      const tickets = 50;
      const show = await saga.admin.createShow({ capacity: tickets, perOrderLimit: 1, priceMinor: 5000 });
      const inventory = saga.stack.apps.inventory!;
      const buyers = Array.from({ length: requests }, () => saga.buyer());
      // The first request reads the show from inventory (reservation caches it); then inventory and
      // its sidecar go down and the rest are accepted against the cached terms.
      const first = await buyers[0]!.reserve(show);
      expect(first.status).toBe(201);
      await inventory.stopAll();
      let sales: Sale[];
      try {
        const placed = [first, ...(await inBatches(buyers.slice(1), 50, (buyer) => buyer.reserve(show)))];
        expect(placed.filter((p) => p.status !== 201).map((p) => p.body)).toEqual([]);
        sales = buyers.map((buyer, i) => ({ buyer, id: placed[i]!.body.id as string }));
      } finally {
        await Promise.all([inventory.restart(), inventory.sidecar?.restart()]);
      }

      const outcomes = await settle(sales, SETTLE_MS);
      expect(outcomes.size, 'sagas ended in time').toBe(requests);
      const ended = [...outcomes.values()];
      expect(ended.filter((o) => o.status === 'CONFIRMED')).toHaveLength(tickets);
      expect(ended.filter((o) => o.status === 'CANCELLED' && o.reason === 'SOLD_OUT')).toHaveLength(
        requests - tickets,
      );
      // Inventory sells a hold when it hears reservation.confirmed, after the reservation is CONFIRMED.
      await expect
        .poll(() => saga.admin.stock(show.showId), { timeout: 30_000, interval: 500 })
        .toMatchObject({ capacity: tickets, available: 0, sold: tickets });

      // Decided in bulk: far fewer transactions (distinct start times of the holds) than requests.
      const database = createDatabase(inventory.env.DATABASE_URL!, {}, { max: 1 });
      try {
        const [row] = await database.sql`
        select count(*)::int as holds, count(distinct created_at)::int as transactions
          from holds where ticket_type_id = ${show.ticketTypeId}`;
        expect(row?.holds).toBe(requests);
        expect(row?.transactions).toBeLessThan(requests / 2);
      } finally {
        await database.close();
      }
    },
    SETTLE_MS + 120_000,
  );
});
