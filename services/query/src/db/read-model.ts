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
 * name, in six statements whatever their number: the reservations' advisory locks (in a fixed order),
 * the new timeline rows, every stored event of those reservations, the details, one notification
 * per reservation. Returns the details by reservation id.
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
  await tx
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
    .onConflictDoNothing();
  const stored = await tx.select().from(timelineEvents).where(inArray(timelineEvents.reservationId, ids));
  const byReservation = new Map<string, RecordedEvent[]>(ids.map((id) => [id, []]));
  for (const row of stored) {
    byReservation.get(row.reservationId)?.push({
      eventId: row.eventId,
      topic: row.topic,
      data: row.data,
      traceparent: row.traceparent ?? undefined,
    } as RecordedEvent);
  }
  const updatedAt = new Date();
  const projected = new Map(ids.map((id) => [id, project(id, byReservation.get(id)!)]));
  await tx
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
    });
  const channel = sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  );
  await tx.execute(
    sql`select pg_notify(${DETAILS_CHANNEL}, id) from unnest(array[${channel}]::text[]) as id`,
  );
  return projected;
}

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
