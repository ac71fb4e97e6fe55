// What each service has in its own books after the run, read straight from its database (and the
// card provider's ledger from the sandbox's): plain rows for the invariants and the report.
import { type AppId, appIds } from '@reservex/contracts';
import { databaseUrl, type InfraInfo } from '@reservex/local';
import postgres from 'postgres';

export interface ReservationRow {
  id: string;
  userId: string;
  ticketTypeId: string;
  quantity: number;
  createdAt: number;
  status: string;
  reason: string | null;
  /** When it reached its last status (ms since epoch). */
  endedAt: number | null;
  /** Every transition: status and when. */
  transitions: { status: string; at: number; reason: string | null }[];
}

export interface Books {
  reservations: ReservationRow[];
  stock: { ticketTypeId: string; capacity: number; available: number; held: number; sold: number }[];
  holds: { reservationId: string; status: string; quantity: number }[];
  payments: {
    reservationId: string;
    userId: string;
    ticketTypeId: string;
    quantity: number;
    amountMinor: number;
    status: string;
  }[];
  refunds: { reservationId: string; amountMinor: number }[];
  tickets: { id: string; reservationId: string; ticketTypeId: string; status: string }[];
  /** The card provider's own ledger: charges by reference (the reservation id), with their refunds. */
  charges: {
    id: string;
    reference: string | null;
    amountMinor: number;
    status: string;
    refundedMinor: number;
  }[];
  /** The read model: status and ticket ids per reservation, and the saga's trace id. */
  details: { reservationId: string; status: string; ticketIds: string[]; traceId: string | null }[];
  deadLetters: {
    id: string;
    cloudEventId: string;
    topic: string | null;
    reservationId: string | null;
    receivedAt: number;
  }[];
  /** Why consumers refused events (they go to the dead-letter topic with it). */
  refusals: { consumer: string; eventId: string; topic: string; reason: string }[];
}

async function withDatabase<T>(
  info: InfraInfo,
  name: string,
  work: (sql: postgres.Sql) => Promise<T>,
): Promise<T> {
  const sql = postgres(databaseUrl(info.postgres, name), {
    max: 1,
    connect_timeout: 10,
    idle_timeout: 5,
    onnotice: () => {},
  });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function readBooks(info: InfraInfo, showId: string): Promise<Books> {
  const reservations = await withDatabase(info, 'reservation', async (sql) => {
    const rows = await sql<
      { id: string; user_id: string; ticket_type_id: string; quantity: number; created_at: Date }[]
    >`select id, user_id, ticket_type_id, quantity, created_at from reservations where show_id = ${showId}`;
    const transitions = await sql<
      { reservation_id: string; status: string; reason: string | null; at: Date; seq: number }[]
    >`select t.reservation_id, t.status, t.reason, t.at, t.seq
      from reservation_transitions t join reservations r on r.id = t.reservation_id
      where r.show_id = ${showId} order by t.reservation_id, t.seq`;
    const byId = new Map<string, { status: string; at: number; reason: string | null }[]>();
    for (const t of transitions) {
      const list = byId.get(t.reservation_id) ?? [];
      list.push({ status: t.status, at: t.at.getTime(), reason: t.reason });
      byId.set(t.reservation_id, list);
    }
    return rows.map((r): ReservationRow => {
      const history = byId.get(r.id) ?? [];
      const last = history.at(-1);
      return {
        id: r.id,
        userId: r.user_id,
        ticketTypeId: r.ticket_type_id,
        quantity: r.quantity,
        createdAt: r.created_at.getTime(),
        status: last?.status ?? 'NONE',
        reason: last?.reason ?? null,
        endedAt: last && (last.status === 'CONFIRMED' || last.status === 'CANCELLED') ? last.at : null,
        transitions: history,
      };
    });
  });
  const ids = reservations.map((r) => r.id);

  const { stock, holds } = await withDatabase(info, 'inventory', async (sql) => ({
    stock: (
      await sql<{ id: string; capacity: number; available: number; held: number; sold: number }[]>`
        select id, capacity, available, held, sold from ticket_types where show_id = ${showId} order by capacity desc, id`
    ).map((t) => ({
      ticketTypeId: t.id,
      capacity: t.capacity,
      available: t.available,
      held: t.held,
      sold: t.sold,
    })),
    holds: (
      await sql<{ reservation_id: string; status: string; quantity: number }[]>`
        select reservation_id, status, quantity from holds where show_id = ${showId}`
    ).map((h) => ({ reservationId: h.reservation_id, status: h.status, quantity: h.quantity })),
  }));

  const { payments, refunds } = await withDatabase(info, 'payment', async (sql) => ({
    payments: (
      await sql<
        {
          reservation_id: string;
          user_id: string;
          ticket_type_id: string;
          quantity: number;
          amount_minor: number;
          status: string;
        }[]
      >`select reservation_id, user_id, ticket_type_id, quantity, amount_minor, status from payments where show_id = ${showId}`
    ).map((p) => ({
      reservationId: p.reservation_id,
      userId: p.user_id,
      ticketTypeId: p.ticket_type_id,
      quantity: p.quantity,
      amountMinor: p.amount_minor,
      status: p.status,
    })),
    refunds: (
      await sql<{ reservation_id: string; amount_minor: number }[]>`
        select f.reservation_id, f.amount_minor from refunds f join payments p on p.id = f.payment_id
        where p.show_id = ${showId}`
    ).map((r) => ({ reservationId: r.reservation_id, amountMinor: r.amount_minor })),
  }));

  const tickets = await withDatabase(info, 'ticket', async (sql) =>
    (
      await sql<{ id: string; reservation_id: string; ticket_type_id: string; status: string }[]>`
        select id, reservation_id, ticket_type_id, status from tickets where show_id = ${showId}`
    ).map((t) => ({
      id: t.id,
      reservationId: t.reservation_id,
      ticketTypeId: t.ticket_type_id,
      status: t.status,
    })),
  );

  const charges = await withDatabase(info, 'card_sandbox', async (sql) =>
    (
      await sql<
        { id: string; reference: string | null; amount_minor: number; status: string; refunded: number }[]
      >`
        select c.id, c.reference, c.amount_minor, c.status, coalesce(sum(f.amount_minor), 0)::int as refunded
        from charges c left join refunds f on f.charge_id = c.id
        where c.reference = any(string_to_array(${ids.join(',')}, ','))
        group by c.id`
    ).map((c) => ({
      id: c.id,
      reference: c.reference,
      amountMinor: c.amount_minor,
      status: c.status,
      refundedMinor: c.refunded,
    })),
  );

  const { details, deadLetters } = await withDatabase(info, 'query', async (sql) => ({
    details: (
      await sql<{ reservation_id: string; status: string; details: Record<string, unknown> }[]>`
        select reservation_id, status, details from reservation_details where reservation_id::text = any(string_to_array(${ids.join(',')}, ','))`
    ).map((d) => {
      const tickets = d.details.tickets as { ticketIds?: string[] } | null | undefined;
      return {
        reservationId: d.reservation_id,
        status: d.status,
        ticketIds: tickets?.ticketIds ?? [],
        traceId: (d.details.traceId as string | null | undefined) ?? null,
      };
    }),
    deadLetters: (
      await sql<
        {
          id: string;
          cloud_event_id: string;
          original_topic: string | null;
          reservation_id: string | null;
          received_at: Date;
        }[]
      >`select id, cloud_event_id, original_topic, reservation_id, received_at from dead_letters order by received_at`
    ).map((l) => ({
      id: l.id,
      cloudEventId: l.cloud_event_id,
      topic: l.original_topic,
      reservationId: l.reservation_id,
      receivedAt: l.received_at.getTime(),
    })),
  }));

  const refusals: Books['refusals'] = [];
  for (const app of appIds as readonly AppId[]) {
    if (app === 'gateway') continue;
    const rows = await withDatabase(info, app, async (sql) => {
      const [table] = await sql<
        { found: string | null }[]
      >`select to_regclass('refused_events')::text as found`;
      if (!table?.found) return [];
      return sql<{ consumer: string; event_id: string; topic: string; reason: string }[]>`
        select consumer, event_id, topic, reason from refused_events`;
    }).catch(() => []);
    for (const r of rows)
      refusals.push({ consumer: r.consumer, eventId: r.event_id, topic: r.topic, reason: r.reason });
  }

  return { reservations, stock, holds, payments, refunds, tickets, charges, details, deadLetters, refusals };
}

/** Transactions open longer than `olderThanS` in any database of the run: what a stalled saga waits on. */
export async function longTransactions(info: InfraInfo, olderThanS = 10): Promise<string[]> {
  return withDatabase(info, 'postgres', async (sql) =>
    (
      await sql<
        { datname: string; pid: number; state: string; wait: string | null; age: string; query: string }[]
      >`select datname, pid, state, wait_event_type || ':' || wait_event as wait,
               extract(epoch from now() - xact_start)::int::text as age, left(query, 100) as query
        from pg_stat_activity
        where xact_start is not null and now() - xact_start > make_interval(secs => ${olderThanS})
          and pid <> pg_backend_pid()
        order by xact_start`
    ).map((t) => `${t.datname} pid ${t.pid} ${t.state} ${t.age} s waiting ${t.wait ?? '-'}: ${t.query}`),
  );
}
