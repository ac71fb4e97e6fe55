// Inventory's HTTP API: the public catalogue (shows with their ticket types and availability) and the
// admin routes that create and change them. Admin routes trust `x-user-roles`, which only the gateway
// sets (it strips any a client sends); the service is never exposed without it.
import { createRoute, z } from '@hono/zod-openapi';
import { wellFormedText } from '@reservex/contracts';
import { type AppOptions, callerOf, createApp, problem, problemResponses } from '@reservex/platform/http';
import { createInsertSchema, createSelectSchema } from 'drizzle-zod';
import type { MiddlewareHandler } from 'hono';
import type { BlankEnv } from 'hono/types';
import {
  addTicketType,
  createShow,
  findShow,
  type InventoryDatabase,
  listShows,
  type ShowWithTicketTypes,
  saleWindowValid,
  type TicketTypeFields,
  updateShow,
  updateTicketType,
} from './db/catalogue.ts';
import { shows, type TicketTypeRow, ticketTypes } from './db/schema.ts';
import { isOnSale } from './domain/stock.ts';

const instant = z.iso.datetime({ offset: true }).openapi({ example: '2026-12-31T20:00:00Z' });

// Validators derived from the tables, narrowed to what a client may send.
const ShowInput = createInsertSchema(shows, {
  title: (s) =>
    s
      .trim()
      .min(1)
      .max(200)
      .refine(...wellFormedText),
  venue: (s) =>
    s
      .trim()
      .min(1)
      .max(200)
      .refine(...wellFormedText),
  startsAt: () => instant,
}).pick({ title: true, venue: true, startsAt: true });

const TicketTypeSchema = createInsertSchema(ticketTypes, {
  name: (s) =>
    s
      .trim()
      .min(1)
      .max(100)
      .refine(...wellFormedText),
  priceMinor: (s) => s.min(0).max(100_000_000).openapi({ description: 'Price in the minor unit (cents)' }),
  currency: (s) => s.regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR').openapi({ example: 'EUR' }),
  capacity: (s) => s.min(0).max(1_000_000),
  saleStartsAt: () => instant,
  saleEndsAt: () =>
    instant.nullable().openapi({
      description: 'When the sale closes; after saleStartsAt (409 `sale-window-invalid` otherwise)',
    }),
  perOrderLimit: (s) => s.min(1).max(100),
  perUserLimit: (s) =>
    s
      .min(1)
      .max(1000)
      .nullable()
      .openapi({ description: 'Tickets one user may hold across orders (default: perOrderLimit)' }),
})
  .pick({
    name: true,
    priceMinor: true,
    currency: true,
    capacity: true,
    saleStartsAt: true,
    saleEndsAt: true,
    perOrderLimit: true,
    perUserLimit: true,
  })
  .extend({
    saleEndsAt: instant.nullable().optional().openapi({
      description: 'When the sale closes; after saleStartsAt (409 `sale-window-invalid` otherwise)',
    }),
  });

// A window that ends before it starts is refused with 409 (JSON Schema cannot compare two fields).
const saleWindowInvalid = (): never =>
  problem(409, 'sale-window-invalid', 'saleEndsAt must be after saleStartsAt');

const TicketTypeInput = TicketTypeSchema.openapi('TicketTypeInput');

const CreateShowInput = ShowInput.extend({
  ticketTypes: z.array(TicketTypeInput).max(20).default([]),
}).openapi('CreateShowInput');
const ShowPatch = ShowInput.partial().openapi('ShowPatch');
const TicketTypePatch = TicketTypeSchema.partial().openapi('TicketTypePatch');

const TicketTypeView = createSelectSchema(ticketTypes, {
  saleStartsAt: () => instant,
  saleEndsAt: () => instant.nullable(),
})
  .pick({
    id: true,
    showId: true,
    name: true,
    priceMinor: true,
    currency: true,
    capacity: true,
    available: true,
    saleStartsAt: true,
    saleEndsAt: true,
    perOrderLimit: true,
  })
  .extend({
    perUserLimit: z
      .number()
      .int()
      .openapi({ description: 'Tickets one user may hold across orders (the per-order limit unless set)' }),
  })
  .extend({ onSale: z.boolean().openapi({ description: 'Whether the sale window is open now' }) })
  .openapi('TicketType');

const ShowView = createSelectSchema(shows, { startsAt: () => instant })
  .pick({ id: true, title: true, venue: true, startsAt: true })
  .extend({ ticketTypes: z.array(TicketTypeView) })
  .openapi('Show');

const StockView = z
  .object({
    ticketTypeId: z.uuid(),
    capacity: z.number().int(),
    available: z.number().int(),
    held: z.number().int(),
    sold: z.number().int(),
  })
  .openapi('Stock');

const ShowIdParam = z.object({ showId: z.uuid().openapi({ param: { name: 'showId', in: 'path' } }) });
const TicketTypeParams = ShowIdParam.extend({
  ticketTypeId: z.uuid().openapi({ param: { name: 'ticketTypeId', in: 'path' } }),
});
const Page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const body = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

/** The gateway names the caller it authenticated (see contracts' identity headers). */
const requireAdmin: MiddlewareHandler = async (c, next) => {
  if (!callerOf(c).roles.has('ADMIN')) problem(403, 'forbidden', 'this route needs the ADMIN role');
  await next();
};
const adminOnly = {
  middleware: requireAdmin,
  tags: ['admin'],
  description: 'Needs the ADMIN role in `x-user-roles` (set by the gateway).',
};

function showView(show: ShowWithTicketTypes, now: Date): z.infer<typeof ShowView> {
  return {
    id: show.id,
    title: show.title,
    venue: show.venue,
    startsAt: show.startsAt.toISOString(),
    ticketTypes: show.ticketTypes.map((t) => ticketTypeView(t, now)),
  };
}

function ticketTypeView(t: TicketTypeRow, now: Date): z.infer<typeof TicketTypeView> {
  return {
    id: t.id,
    showId: t.showId,
    name: t.name,
    priceMinor: t.priceMinor,
    currency: t.currency,
    capacity: t.capacity,
    available: t.available,
    saleStartsAt: t.saleStartsAt.toISOString(),
    saleEndsAt: t.saleEndsAt?.toISOString() ?? null,
    perOrderLimit: t.perOrderLimit,
    perUserLimit: t.perUserLimit ?? t.perOrderLimit,
    onSale: isOnSale(t, now),
  };
}

type TicketTypeTimes = { saleStartsAt?: string | undefined; saleEndsAt?: string | null | undefined };

/** A ticket type's changed fields, with the API's ISO timestamps as dates; what was not sent stays out. */
function ticketTypeChanges<T extends TicketTypeTimes>(input: T) {
  const { saleStartsAt, saleEndsAt, ...rest } = input;
  return {
    ...rest,
    ...(saleStartsAt === undefined ? {} : { saleStartsAt: new Date(saleStartsAt) }),
    ...(saleEndsAt === undefined ? {} : { saleEndsAt: saleEndsAt === null ? null : new Date(saleEndsAt) }),
  };
}

/** A new ticket type's fields; without an end the sale stays open. */
function newTicketType(input: z.infer<typeof TicketTypeInput>): TicketTypeFields {
  const fields = {
    ...ticketTypeChanges(input),
    saleStartsAt: new Date(input.saleStartsAt),
    saleEndsAt: input.saleEndsAt ? new Date(input.saleEndsAt) : null,
  };
  if (!saleWindowValid(fields.saleStartsAt, fields.saleEndsAt)) saleWindowInvalid();
  return fields;
}

export type InventoryAppOptions = Pick<AppOptions, 'bodyLimitBytes' | 'readiness'> & {
  db: InventoryDatabase;
  now?: () => Date;
};

export function createInventoryApp(options: InventoryAppOptions) {
  const { db } = options;
  const now = options.now ?? (() => new Date());
  const app = createApp<BlankEnv>({
    serviceName: 'inventory',
    description: 'Shows, ticket types and their availability. Holds are taken by the booking saga.',
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.readiness === undefined ? {} : { readiness: options.readiness }),
  });

  const showOr404 = async (showId: string) =>
    (await findShow(db, showId)) ?? problem(404, 'not-found', `no show ${showId}`);

  return app
    .openapi(
      createRoute({
        method: 'get',
        path: '/v1/shows',
        tags: ['catalogue'],
        summary: 'Shows in start order, with their ticket types and availability',
        request: { query: Page },
        responses: {
          200: json(z.object({ shows: z.array(ShowView) }), 'A page of shows'),
          ...problemResponses(422),
        },
      }),
      async (c) => {
        const page = c.req.valid('query');
        const at = now();
        return c.json({ shows: (await listShows(db, page)).map((s) => showView(s, at)) }, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/v1/shows/{showId}',
        tags: ['catalogue'],
        summary: 'One show with its ticket types and availability',
        request: { params: ShowIdParam },
        responses: { 200: json(ShowView, 'The show'), ...problemResponses(404, 422) },
      }),
      async (c) => c.json(showView(await showOr404(c.req.valid('param').showId), now()), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/v1/shows',
        summary: 'Create a show, optionally with its ticket types',
        ...adminOnly,
        request: { body: body(CreateShowInput) },
        responses: { 201: json(ShowView, 'Created'), ...problemResponses(400, 401, 403, 409, 413, 422) },
      }),
      async (c) => {
        const { ticketTypes: types, startsAt, ...show } = c.req.valid('json');
        const created = await createShow(
          db,
          { ...show, startsAt: new Date(startsAt) },
          types.map(newTicketType),
        );
        c.header('location', `/v1/shows/${created.id}`);
        return c.json(showView(created, now()), 201);
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/v1/shows/{showId}',
        summary: 'Change a show',
        ...adminOnly,
        request: { params: ShowIdParam, body: body(ShowPatch) },
        responses: { 200: json(ShowView, 'Changed'), ...problemResponses(400, 401, 403, 404, 413, 422) },
      }),
      async (c) => {
        const { showId } = c.req.valid('param');
        const { startsAt, ...patch } = c.req.valid('json');
        const updated = await updateShow(db, showId, {
          ...patch,
          ...(startsAt === undefined ? {} : { startsAt: new Date(startsAt) }),
        });
        return c.json(showView(updated ?? problem(404, 'not-found', `no show ${showId}`), now()), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/v1/shows/{showId}/ticket-types',
        summary: 'Add a ticket type to a show',
        ...adminOnly,
        request: { params: ShowIdParam, body: body(TicketTypeInput) },
        responses: {
          201: json(TicketTypeView, 'Created'),
          ...problemResponses(400, 401, 403, 404, 409, 413, 422),
        },
      }),
      async (c) => {
        const { showId } = c.req.valid('param');
        const created =
          (await addTicketType(db, showId, newTicketType(c.req.valid('json')))) ??
          problem(404, 'not-found', `no show ${showId}`);
        c.header('location', `/v1/shows/${showId}/ticket-types/${created.id}`);
        return c.json(ticketTypeView(created, now()), 201);
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/v1/shows/{showId}/ticket-types/{ticketTypeId}',
        summary: 'Change a ticket type; a new capacity may not go below what is held and sold',
        ...adminOnly,
        request: { params: TicketTypeParams, body: body(TicketTypePatch) },
        responses: {
          200: json(TicketTypeView, 'Changed'),
          ...problemResponses(400, 401, 403, 404, 409, 413, 422),
        },
      }),
      async (c) => {
        const { showId, ticketTypeId } = c.req.valid('param');
        const result = await updateTicketType(
          db,
          showId,
          ticketTypeId,
          ticketTypeChanges(c.req.valid('json')),
        );
        switch (result.kind) {
          case 'updated':
            return c.json(ticketTypeView(result.ticketType, now()), 200);
          case 'not-found':
            return problem(404, 'not-found', `no ticket type ${ticketTypeId} in show ${showId}`);
          case 'sale-window-invalid':
            return saleWindowInvalid();
          case 'capacity-too-low':
            return problem(
              409,
              'capacity-below-committed',
              `${result.committed} tickets are already held or sold`,
              {
                committed: result.committed,
              },
            );
          default: {
            const unknown: never = result;
            throw new Error(`unhandled ${JSON.stringify(unknown)}`);
          }
        }
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/v1/shows/{showId}/stock',
        summary: 'Where every ticket of a show is: available, held or sold',
        ...adminOnly,
        request: { params: ShowIdParam },
        responses: {
          200: json(z.object({ stock: z.array(StockView) }), 'Stock per ticket type'),
          ...problemResponses(401, 403, 404, 422),
        },
      }),
      async (c) => {
        const show = await showOr404(c.req.valid('param').showId);
        return c.json(
          {
            stock: show.ticketTypes.map((t) => ({
              ticketTypeId: t.id,
              capacity: t.capacity,
              available: t.available,
              held: t.held,
              sold: t.sold,
            })),
          },
          200,
        );
      },
    );
}
