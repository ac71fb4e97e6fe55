// Shows and ticket types: what the catalogue reads and what admins change.
import type { Database, Executor } from '@reservex/platform/db';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type * as schema from './schema.ts';
import { type ShowRow, shows, type TicketTypeRow, ticketTypes } from './schema.ts';

export type InventoryDatabase = Database<typeof schema>;

export type ShowWithTicketTypes = ShowRow & { ticketTypes: TicketTypeRow[] };

export type ShowFields = Pick<ShowRow, 'title' | 'venue' | 'startsAt'>;
export type TicketTypeFields = Pick<
  TicketTypeRow,
  'name' | 'priceMinor' | 'currency' | 'capacity' | 'saleStartsAt' | 'saleEndsAt' | 'perOrderLimit'
> &
  Partial<Pick<TicketTypeRow, 'perUserLimit'>>;

/** Shows in start order, each with its ticket types (cheapest first among those added together). */
export async function listShows(
  db: Executor,
  options: { limit: number; offset: number },
): Promise<ShowWithTicketTypes[]> {
  const page = await db
    .select()
    .from(shows)
    .orderBy(asc(shows.startsAt), asc(shows.id))
    .limit(options.limit)
    .offset(options.offset);
  return withTicketTypes(db, page);
}

export async function findShow(db: Executor, showId: string): Promise<ShowWithTicketTypes | undefined> {
  const [show] = await db.select().from(shows).where(eq(shows.id, showId));
  if (!show) return undefined;
  const [found] = await withTicketTypes(db, [show]);
  return found;
}

async function withTicketTypes(db: Executor, page: ShowRow[]): Promise<ShowWithTicketTypes[]> {
  if (page.length === 0) return [];
  const types: TicketTypeRow[] = await db
    .select()
    .from(ticketTypes)
    .where(
      inArray(
        ticketTypes.showId,
        page.map((s) => s.id),
      ),
    )
    .orderBy(asc(ticketTypes.createdAt), asc(ticketTypes.priceMinor), asc(ticketTypes.id));
  return page.map((show) => ({ ...show, ticketTypes: types.filter((t) => t.showId === show.id) }));
}

export async function createShow(
  db: InventoryDatabase,
  show: ShowFields,
  types: TicketTypeFields[],
): Promise<ShowWithTicketTypes> {
  const showId = await db.transaction(async (tx) => {
    const [created] = await tx.insert(shows).values(show).returning({ id: shows.id });
    if (types.length > 0) {
      await tx
        .insert(ticketTypes)
        .values(types.map((t) => ({ ...t, showId: created!.id, available: t.capacity })));
    }
    return created!.id;
  });
  // Read back, so a new show lists its ticket types in the same order as every later read.
  return (await findShow(db, showId))!;
}

export async function updateShow(
  db: Executor,
  showId: string,
  patch: Partial<ShowFields>,
): Promise<ShowWithTicketTypes | undefined> {
  const [updated] = await db
    .update(shows)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(eq(shows.id, showId))
    .returning({ id: shows.id });
  return updated ? findShow(db, showId) : undefined;
}

export async function addTicketType(
  db: Executor,
  showId: string,
  fields: TicketTypeFields,
): Promise<TicketTypeRow | undefined> {
  const [show] = await db.select({ id: shows.id }).from(shows).where(eq(shows.id, showId));
  if (!show) return undefined;
  const [created] = await db
    .insert(ticketTypes)
    .values({ ...fields, showId, available: fields.capacity })
    .returning();
  return created;
}

/** A sale window ends after it starts (or never). */
export function saleWindowValid(startsAt: Date, endsAt: Date | null | undefined): boolean {
  return !endsAt || endsAt.getTime() > startsAt.getTime();
}

export type TicketTypeUpdate =
  | { kind: 'updated'; ticketType: TicketTypeRow }
  | { kind: 'not-found' }
  /** The sale window would end before it starts. */
  | { kind: 'sale-window-invalid' }
  /** The new capacity is below what is already held and sold. */
  | { kind: 'capacity-too-low'; committed: number };

/**
 * Changes a ticket type. A capacity change moves the difference in or out of `available` in the
 * same statement, so it is safe against holds being taken concurrently and cannot take away tickets
 * already held or sold.
 */
export async function updateTicketType(
  db: Executor,
  showId: string,
  ticketTypeId: string,
  patch: Partial<TicketTypeFields>,
): Promise<TicketTypeUpdate> {
  const { capacity, ...rest } = patch;
  const where = and(eq(ticketTypes.id, ticketTypeId), eq(ticketTypes.showId, showId));
  const resized =
    capacity === undefined
      ? {}
      : {
          capacity,
          available: sql`${ticketTypes.available} + (${capacity}::integer - ${ticketTypes.capacity})`,
        };
  // The window as it will be, from what is sent and what is stored, checked in the same update.
  const starts =
    patch.saleStartsAt === undefined
      ? sql`${ticketTypes.saleStartsAt}`
      : sql`${patch.saleStartsAt.toISOString()}::timestamptz`;
  const ends =
    patch.saleEndsAt === undefined
      ? sql`${ticketTypes.saleEndsAt}`
      : patch.saleEndsAt === null
        ? sql`null::timestamptz`
        : sql`${patch.saleEndsAt.toISOString()}::timestamptz`;
  const windowValid = sql`(${ends} is null or ${ends} > ${starts})`;
  const [updated] = await db
    .update(ticketTypes)
    .set({ ...rest, ...resized, updatedAt: sql`now()` })
    .where(
      capacity === undefined
        ? and(where, windowValid)
        : and(where, windowValid, sql`${ticketTypes.held} + ${ticketTypes.sold} <= ${capacity}::integer`),
    )
    .returning();
  if (updated) return { kind: 'updated', ticketType: updated };
  const [current] = await db.select().from(ticketTypes).where(where);
  if (!current) return { kind: 'not-found' };
  const end = patch.saleEndsAt === undefined ? current.saleEndsAt : patch.saleEndsAt;
  if (!saleWindowValid(patch.saleStartsAt ?? current.saleStartsAt, end))
    return { kind: 'sale-window-invalid' };
  return { kind: 'capacity-too-low', committed: current.held + current.sold };
}
