// Writing and reading the read model. A new event is stored with the others of its reservation and
// the details are re-derived from all of them, under the reservation's advisory lock, so concurrent
// deliveries of one saga never lose each other's facts.
import type { SagaEvent } from '@reservex/contracts';
import { lockKeys, type TransactionOf } from '@reservex/platform/db';
import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { project, type RecordedEvent, type ReservationDetails } from '../domain/projection.ts';
import { DETAILS_CHANNEL, reservationDetails, type schema, timelineEvents } from './schema.ts';

export type QueryDb = PostgresJsDatabase<typeof schema>;
export type QueryTx = TransactionOf<QueryDb>;

/** Adds one event to its reservation's timeline and re-derives the details. */
export async function recordSagaEvent(tx: QueryTx, event: RecordedEvent): Promise<ReservationDetails> {
  const details = await recordSagaEvents(tx, [event]);
  return details.get(event.data.reservationId)!;
}

/**
 * Adds events to their reservations' timelines and re-derives the details of each reservation they
 * name, in three statements whatever their number: the reservations' advisory locks (in a fixed
 * order); the new timeline rows with every stored event of those reservations (the rows this
 * statement adds come from its RETURNING, the others from the table); the details with one
 * notification per reservation. Returns the details by reservation id.
 */
export async function recordSagaEvents(
  tx: QueryTx,
  events: readonly RecordedEvent[],
): Promise<Map<string, ReservationDetails>> {
  const ids = [...new Set(events.map((event) => event.data.reservationId))];
  if (ids.length === 0) return new Map();
  await lockKeys(
    tx,
    ids.map((id) => `query:${id}`),
  );
  const added = tx
    .insert(timelineEvents)
    .values(
      events.map((event) => ({
        eventId: event.eventId,
        reservationId: event.data.reservationId,
        topic: event.topic,
        occurredAt: event.data.occurredAt,
        data: event.data,
        traceparent: event.traceparent ?? null,
      })),
    )
    .onConflictDoNothing()
    .returning(storedColumns);
  const stored = (await tx.execute(sql`
    with added as (${added.getSQL()})
    select * from added
    union all
    select event_id, reservation_id, topic, data, traceparent from ${timelineEvents}
    where ${inArray(timelineEvents.reservationId, ids)}`)) as unknown as StoredRow[];
  const byReservation = new Map<string, RecordedEvent[]>(ids.map((id) => [id, []]));
  for (const row of stored) {
    byReservation.get(row.reservation_id)?.push({
      eventId: row.event_id,
      topic: row.topic,
      data: row.data,
      traceparent: row.traceparent ?? undefined,
    } as RecordedEvent);
  }
  const updatedAt = new Date();
  const projected = new Map(ids.map((id) => [id, project(id, byReservation.get(id)!)]));
  const upserted = tx
    .insert(reservationDetails)
    .values(
      [...projected].map(([reservationId, details]) => ({
        reservationId,
        userId: details.userId,
        status: details.status,
        sortAt: details.createdAt ?? details.timeline[0]!.occurredAt,
        details,
        updatedAt,
      })),
    )
    .onConflictDoUpdate({
      target: reservationDetails.reservationId,
      set: {
        userId: sql`excluded.user_id`,
        status: sql`excluded.status`,
        sortAt: sql`excluded.sort_at`,
        details: sql`excluded.details`,
        updatedAt: sql`excluded.updated_at`,
      },
    })
    .returning({ reservationId: reservationDetails.reservationId });
  await tx.execute(sql`
    with upserted as (${upserted.getSQL()})
    select pg_notify(${DETAILS_CHANNEL}, reservation_id::text) from upserted`);
  return projected;
}

/** A timeline row as the statement above returns it (column names, jsonb parsed). */
type StoredRow = {
  event_id: string;
  reservation_id: string;
  topic: string;
  data: unknown;
  traceparent: string | null;
};

const storedColumns = {
  eventId: timelineEvents.eventId,
  reservationId: timelineEvents.reservationId,
  topic: timelineEvents.topic,
  data: timelineEvents.data,
  traceparent: timelineEvents.traceparent,
};

export function asRecorded(
  event: SagaEvent,
  meta: { eventId: string; traceparent?: string | undefined },
): RecordedEvent {
  return { ...event, eventId: meta.eventId, traceparent: meta.traceparent } as RecordedEvent;
}

/** The details of a reservation if it belongs to `userId` (someone else's is as absent as a missing one). */
export async function findDetails(
  db: QueryDb,
  reservationId: string,
  userId: string,
): Promise<ReservationDetails | undefined> {
  const [row] = await db
    .select({ details: reservationDetails.details })
    .from(reservationDetails)
    .where(and(eq(reservationDetails.reservationId, reservationId), eq(reservationDetails.userId, userId)));
  return row?.details;
}

export type Page<T> = { items: T[]; nextCursor: string | null };
type Cursor = { sortAt: string; reservationId: string };

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.sortAt, cursor.reservationId])).toString('base64url');
}

// What a cursor may hold: an instant as Postgres writes one (or as ISO 8601), to the microsecond,
// and a uuid. Anything else was not issued here, and must not reach the database as a parameter.
const instantText =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(?::?\d{2})?)$/;
const uuidText = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;

function isInstant(text: string): boolean {
  const parts = instantText.exec(text);
  if (!parts) return false;
  const [year, month, day, hour, minute, second] = parts.slice(1, 7).map(Number) as number[];
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  return (
    year! >= 1 &&
    date.getUTCMonth() === month! - 1 &&
    date.getUTCDate() === day &&
    hour! < 24 &&
    minute! < 60 &&
    second! < 60
  );
}

export function decodeCursor(text: string): Cursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      isInstant(value[0]) &&
      typeof value[1] === 'string' &&
      uuidText.test(value[1])
    ) {
      return { sortAt: value[0], reservationId: value[1] };
    }
  } catch {
    // not a cursor we issued
  }
  return undefined;
}

/** The user's reservations, newest first, keyset-paginated. */
export async function listDetails(
  db: QueryDb,
  userId: string,
  page: { limit: number; after?: Cursor | undefined },
): Promise<Page<ReservationDetails>> {
  const after = page.after;
  const rows = await db
    .select({
      details: reservationDetails.details,
      sortAt: reservationDetails.sortAt,
      reservationId: reservationDetails.reservationId,
    })
    .from(reservationDetails)
    .where(
      and(
        eq(reservationDetails.userId, userId),
        after
          ? or(
              lt(reservationDetails.sortAt, after.sortAt),
              and(
                eq(reservationDetails.sortAt, after.sortAt),
                lt(reservationDetails.reservationId, after.reservationId),
              ),
            )
          : undefined,
      ),
    )
    .orderBy(desc(reservationDetails.sortAt), desc(reservationDetails.reservationId))
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items: items.map((row) => row.details),
    nextCursor:
      rows.length > page.limit && last
        ? encodeCursor({ sortAt: last.sortAt, reservationId: last.reservationId })
        : null,
  };
}

/** Empties the read model (for a rebuild); the events are replayed from the bus afterwards. */
export async function truncateReadModel(db: QueryDb): Promise<void> {
  await db.execute(sql`truncate table ${reservationDetails}, ${timelineEvents}`);
}
