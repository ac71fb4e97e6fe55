// The ticket participant against a real Postgres: any interleaving and duplication of its input events
// (payment.completed, reservation.cancelled) never issues a ticket after a cancel, never issues twice,
// and leaves no valid ticket of a cancelled reservation; with the real sidecar and Kafka an event
// delivered twice issues once, and of two concurrent scans of one code exactly one admits.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { EventOf } from '@reservex/contracts';
import { ownerOf, type Topic } from '@reservex/contracts';
import { databaseUrl, deliveredBy, probeApp, publishAs, type StartedApps, startApps } from '@reservex/local';
import { createDatabase } from '@reservex/platform/db';
import { outbox } from '@reservex/platform/outbox';
import { batchEntry, inboxed, withMigratedDatabase } from '@reservex/platform/testing';
import { and, eq, inArray, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { hc } from 'hono/client';
import { afterAll, beforeAll, describe, expect, inject, vi } from 'vitest';
import type { createTicketApp } from './app.ts';
import { cancellations, schema, tickets } from './db/schema.ts';
import { lockShowForIssuing, type TicketDb } from './db/tickets.ts';
import { issueTickets, issueTicketsInBatches } from './events/payment-completed.ts';
import { voidCancelledTickets, voidCancelledTicketsInBatches } from './events/reservation-cancelled.ts';

const infra = inject('infra');
type TicketApp = ReturnType<typeof createTicketApp>;
const it = withMigratedDatabase({
  name: 'ticket_int',
  schema,
  migrations: fileURLToPath(new URL('../drizzle', import.meta.url)),
});

function paymentCompleted(
  reservationId: string,
  showId = randomUUID(),
  quantity = 2,
): EventOf<'payment.completed'> {
  return {
    schemaVersion: 1,
    reservationId,
    occurredAt: new Date().toISOString(),
    userId: 'buyer-1',
    showId,
    ticketTypeId: randomUUID(),
    quantity,
    paymentId: randomUUID(),
    amountMinor: 5000,
    currency: 'EUR',
  };
}

function reservationCancelled(of: EventOf<'payment.completed'>): EventOf<'reservation.cancelled'> {
  const { paymentId: _p, amountMinor: _a, currency: _c, ...booking } = of;
  return { ...booking, occurredAt: new Date().toISOString(), reason: 'USER_CANCELLED', failedStep: 'user' };
}

async function ticketsOf(db: TicketDb, reservationId: string) {
  return db.select().from(tickets).where(eq(tickets.reservationId, reservationId));
}

async function published(db: TicketDb, reservationId: string, topic: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(outbox)
    .where(and(eq(outbox.partitionKey, reservationId), eq(outbox.topic, topic)));
  return row!.n;
}

type Delivery = { kind: 'paid' | 'cancelled'; eventId: string };

describe('ticket participant (real Postgres)', () => {
  it('keeps its invariants under any interleaving and duplication of its events, alone or in bulk', async ({
    database,
  }) => {
    const { db } = database;
    const issue = issueTickets({ db, lockedShows: new Set() });
    const voidTickets = voidCancelledTickets({ db });
    const issueBulk = issueTicketsInBatches({ db, lockedShows: new Set() });
    const voidBulk = voidCancelledTicketsInBatches({ db });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        // One event per delivery, or bulk deliveries (one per topic of each concurrent batch).
        fc.boolean(),
        fc.array(fc.record({ kind: fc.constantFrom('paid', 'cancelled'), redelivery: fc.boolean() }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 6, maxLength: 6 }),
        async (quantity, withCancel, bulk, picks, batchSizes) => {
          const paid = paymentCompleted(randomUUID(), randomUUID(), quantity);
          const cancelled = reservationCancelled(paid);
          const firstIds = { paid: randomUUID(), cancelled: randomUUID() };
          const deliveries: Delivery[] = picks
            .filter((pick) => withCancel || pick.kind === 'paid')
            .map((pick) => ({
              kind: pick.kind,
              eventId: pick.redelivery ? firstIds[pick.kind] : randomUUID(),
            }));
          if (!deliveries.some((d) => d.kind === 'paid'))
            deliveries.push({ kind: 'paid', eventId: firstIds.paid });
          if (withCancel && !deliveries.some((d) => d.kind === 'cancelled')) {
            deliveries.push({ kind: 'cancelled', eventId: firstIds.cancelled });
          }
          const deliver = (d: Delivery) =>
            d.kind === 'paid' ? issue(paid, { id: d.eventId }) : voidTickets(cancelled, { id: d.eventId });

          let cancelDone = false;
          let issueBeganBeforeCancel = false;
          let rest = deliveries;
          for (const size of [...batchSizes, deliveries.length]) {
            if (rest.length === 0) break;
            const batch = rest.slice(0, size);
            rest = rest.slice(size);
            if (!cancelDone && batch.some((d) => d.kind === 'paid')) issueBeganBeforeCancel = true;
            if (bulk) {
              const ofKind = (kind: Delivery['kind']) => batch.filter((d) => d.kind === kind);
              await Promise.all([
                ofKind('paid').length > 0 &&
                  issueBulk(ofKind('paid').map((d) => batchEntry('payment.completed', paid, d.eventId))),
                ofKind('cancelled').length > 0 &&
                  voidBulk(
                    ofKind('cancelled').map((d) => batchEntry('reservation.cancelled', cancelled, d.eventId)),
                  ),
              ]);
            } else {
              await Promise.all(batch.map(deliver));
            }
            if (batch.some((d) => d.kind === 'cancelled')) cancelDone = true;
          }

          const issued = await ticketsOf(db, paid.reservationId);
          const everIssued = deliveries.some((d) => d.kind === 'paid') && issued.length > 0;
          // One ticket per seat, issued at most once.
          expect(issued.length === 0 || issued.length === quantity).toBe(true);
          expect(new Set(issued.map((t) => t.seat)).size).toBe(issued.length);
          expect(await published(db, paid.reservationId, 'ticket.issued')).toBe(everIssued ? 1 : 0);
          if (withCancel) {
            // No valid ticket of a cancelled reservation, and none issued after the cancel.
            expect(issued.filter((t) => t.status !== 'voided')).toEqual([]);
            if (!issueBeganBeforeCancel) expect(issued).toEqual([]);
            expect(await published(db, paid.reservationId, 'ticket.voided')).toBe(everIssued ? 1 : 0);
          } else {
            expect(issued.every((t) => t.status === 'valid')).toBe(true);
            expect(issued.length).toBe(quantity);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('writes nothing for the cancel of a saga refused before any ticket was asked for', async ({
    database,
  }) => {
    const { db } = database;
    const voidOne = voidCancelledTickets({ db });
    const voidBulk = voidCancelledTicketsInBatches({ db });
    const cancelled = (failedStep: 'stock' | 'payment' | 'expiry') => ({
      ...reservationCancelled(paymentCompleted(randomUUID())),
      reason: failedStep === 'expiry' ? ('EXPIRED' as const) : ('SOLD_OUT' as const),
      failedStep,
    });
    const [soldOut, declined, expired] = [cancelled('stock'), cancelled('payment'), cancelled('expiry')];
    expect(await voidOne(soldOut, { id: randomUUID() })).toBe('handled');
    await voidBulk([batchEntry('reservation.cancelled', declined)]);
    const mine = inArray(cancellations.reservationId, [
      soldOut.reservationId,
      declined.reservationId,
      expired.reservationId,
    ]);
    expect(await db.select().from(cancellations).where(mine)).toEqual([]);
    const entries = [
      batchEntry('reservation.cancelled', soldOut),
      batchEntry('reservation.cancelled', expired),
      batchEntry('reservation.cancelled', declined),
    ];
    await voidBulk(entries);
    const tombstones = await db.select({ id: cancellations.reservationId }).from(cancellations).where(mine);
    expect(tombstones.map((row) => row.id)).toEqual([expired.reservationId]);
    const ids = entries.map((entry) => entry.ctx.id);
    expect(await inboxed(db, ids)).toEqual([ids[1]]);
  });

  it('refuses to issue for a show locked for issuing, once', async ({ database }) => {
    const { db } = database;
    const showId = randomUUID();
    await lockShowForIssuing(db, showId, 'ops');
    const issue = issueTickets({ db, lockedShows: new Set() });
    const paid = paymentCompleted(randomUUID(), showId);
    await issue(paid, { id: randomUUID() });
    await issue(paid, { id: randomUUID() });
    expect(await ticketsOf(db, paid.reservationId)).toEqual([]);
    expect(await published(db, paid.reservationId, 'ticket.issue.failed')).toBe(1);
  });

  it('refuses to issue for a show locked by configuration', async ({ database }) => {
    const { db } = database;
    const paid = paymentCompleted(randomUUID());
    await issueTickets({ db, lockedShows: new Set([paid.showId]) })(paid, { id: randomUUID() });
    expect(await published(db, paid.reservationId, 'ticket.issue.failed')).toBe(1);
  });
});

describe('ticket service with its sidecar (real daprd, Kafka)', () => {
  let started: StartedApps<'ticket' | 'payment' | 'reservation'>;
  const dbName = 'ticket_int_dapr';
  const lockedShow = randomUUID();

  beforeAll(async () => {
    started = await startApps({
      infra,
      apps: [
        {
          appId: 'ticket',
          args: ['services/ticket/src/main.ts'],
          database: dbName,
          env: {
            TICKET_SIGNING_SECRET: 'a-test-secret-that-is-long-enough-0123456789',
            TICKET_ISSUING_LOCKED_SHOWS: lockedShow,
          },
          readyTimeoutMs: 120_000,
        },
        // The topics' owners stand in as probes: only a topic's owner may publish it.
        ...(['payment', 'reservation'] as const).map((appId) => ({
          appId,
          args: [probeApp],
          readyTimeoutMs: 120_000,
        })),
      ],
    });
  });

  afterAll(async () => {
    await started?.stop();
  });

  const url = (path: string) => `${started.apps.ticket.url}${path}`;
  /** A raw call to ticket's port as its sidecar delivers the gateway's call: for malformed bodies. */
  const call = (target: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    fetch(target, { ...init, headers: { ...deliveredBy(started.apps.ticket), ...init.headers } });
  /** Ticket's routes through hono's typed client, as its sidecar delivers the gateway's call. */
  const api = (headers: Record<string, string>) =>
    hc<TicketApp>(started.apps.ticket.url, { headers: { ...deliveredBy(started.apps.ticket), ...headers } })
      .v1.tickets;

  async function publish(topic: Topic, data: { reservationId: string }, eventId: string) {
    const response = await publishAs(
      started.apps[ownerOf(topic) as 'payment' | 'reservation'],
      infra.dapr.components.pubsub,
      topic,
      data,
      {
        'cloudevent.id': eventId,
        partitionKey: data.reservationId,
      },
    );
    expect(response.status).toBe(204);
  }

  const poll = { timeout: 30_000, interval: 250 };

  const DOOR_SHOW = randomUUID();
  const staffOf = (showId: string) => ({ 'x-user-id': 'door-1', 'x-user-roles': `USER,STAFF:${showId}` });
  const staff = { 'content-type': 'application/json', ...staffOf(DOOR_SHOW) };
  const scan = (
    code: string,
    showId: string = DOOR_SHOW,
    headers: Record<string, string> = staffOf(showId),
  ) => api(headers).scan.$post({ json: { code, showId } });

  it('issues once when payment.completed is delivered twice, and admits each ticket exactly once', async () => {
    const paid = paymentCompleted(randomUUID());
    const eventId = randomUUID();
    await publish('payment.completed', paid, eventId);
    await publish('payment.completed', paid, eventId);
    await publish('payment.completed', paid, randomUUID());

    const check = createDatabase(databaseUrl(infra.postgres, dbName), schema, { max: 1 });
    try {
      const issued = await vi.waitFor(async () => {
        const rows = await check.db
          .select()
          .from(tickets)
          .where(eq(tickets.reservationId, paid.reservationId));
        expect(rows.length).toBeGreaterThan(0);
        return rows;
      }, poll);
      // Proves that no later delivery issues again: nothing may change within this window.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(
        await check.db.select().from(tickets).where(eq(tickets.reservationId, paid.reservationId)),
      ).toHaveLength(2);

      const first = issued[0]!;
      const mine = await api({ 'x-user-id': 'buyer-1' })[':ticketId'].$get({ param: { ticketId: first.id } });
      expect(mine.status).toBe(200);
      const ticket = (await mine.json()) as { code: string; qrPayload: string; status: string };
      expect(ticket.status).toBe('valid');
      expect(ticket.qrPayload.split('.')).toHaveLength(3);
      const notMine = await api({ 'x-user-id': 'buyer-2' })[':ticketId'].$get({
        param: { ticketId: first.id },
      });
      expect(notMine.status).toBe(404);

      // A door of another show refuses it and leaves it valid.
      const elsewhere = await scan(ticket.code, randomUUID());
      expect(elsewhere.status).toBe(409);
      expect(await elsewhere.json()).toMatchObject({ type: expect.stringMatching(/ticket-wrong-show$/) });
      // Two doors scan the same code at once: one admits, the other is told it was already used.
      const [a, b] = await Promise.all([scan(ticket.code, paid.showId), scan(ticket.code, paid.showId)]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const refused = a.status === 409 ? a : b;
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(await refused.json()).toMatchObject({
        type: expect.stringContaining('ticket-already-admitted'),
      });

      // The reservation is cancelled: its tickets are voided, once, and a voided ticket is refused.
      const cancelled = reservationCancelled(paid);
      const cancelId = randomUUID();
      await publish('reservation.cancelled', cancelled, cancelId);
      await publish('reservation.cancelled', cancelled, cancelId);
      await vi.waitFor(async () => {
        const rows = await check.db
          .select()
          .from(tickets)
          .where(eq(tickets.reservationId, paid.reservationId));
        expect(rows.every((row) => row.status === 'voided')).toBe(true);
      }, poll);
      const second = issued[1]!;
      const voided = await scan(second.code, paid.showId);
      expect(voided.status).toBe(409);
      expect(await voided.json()).toMatchObject({ type: expect.stringContaining('ticket-voided') });
      // Proves that the repeated cancel publishes nothing more: nothing may appear within this window.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const events = await check.db
        .select({ topic: outbox.topic })
        .from(outbox)
        .where(eq(outbox.partitionKey, paid.reservationId));
      expect(events.map((e) => e.topic).sort()).toEqual(['ticket.issued', 'ticket.voided']);
    } finally {
      await check.close();
    }
  });

  it('fails issuing for a locked show with ticket.issue.failed', async () => {
    const paid = paymentCompleted(randomUUID(), lockedShow);
    await publish('payment.completed', paid, randomUUID());
    const check = createDatabase(databaseUrl(infra.postgres, dbName), schema, { max: 1 });
    try {
      await expect
        .poll(
          async () =>
            (
              await check.db
                .select({ topic: outbox.topic })
                .from(outbox)
                .where(eq(outbox.partitionKey, paid.reservationId))
            ).map((e) => e.topic),
          poll,
        )
        .toEqual(['ticket.issue.failed']);
    } finally {
      await check.close();
    }
  });

  it('answers bad input with problem+json, never a 5xx', async () => {
    expect((await scan('x')).status).toBe(422);
    expect((await scan('A'.repeat(27))).status).toBe(404);
    expect(
      (
        await scan('A'.repeat(27), DOOR_SHOW, {
          'content-type': 'application/json',
          'x-user-id': 'u1',
          'x-user-roles': 'USER',
        })
      ).status,
    ).toBe(403);
    expect((await scan('A'.repeat(27), DOOR_SHOW, {})).status).toBe(401);
    const malformed = await call(url('/v1/tickets/scan'), {
      method: 'POST',
      headers: staff,
      body: '{"code":',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toContain('application/problem+json');
    const huge = await call(url('/v1/tickets/scan'), {
      method: 'POST',
      headers: staff,
      body: JSON.stringify({ code: 'a'.repeat(70_000) }),
    });
    expect(huge.status).toBe(413);
    expect(
      (await api({ 'x-user-id': 'u1' })[':ticketId'].$get({ param: { ticketId: 'not-a-uuid' } })).status,
    ).toBe(422);
  });
});
