// The ticket service's HTTP API: a holder reads their ticket (with its QR payload), door staff admit a
// ticket by its code exactly once, an operator locks a show for issuing.
import { createRoute, z } from '@hono/zod-openapi';
import { staffRole } from '@reservex/contracts';
import {
  type Caller,
  callerOf,
  createApp,
  problem,
  problemResponses,
  type ReadinessCheck,
} from '@reservex/platform/http';
import type { Context } from 'hono';
import type { BlankEnv } from 'hono/types';
import {
  admitByCode,
  findByCode,
  findTicket,
  lockShowForIssuing,
  type TicketDb,
  unlockShowForIssuing,
} from './db/tickets.ts';
import { scanRefusal } from './domain/issuing.ts';
import { TicketCode } from './domain/ticket-code.ts';

const Ticket = z
  .object({
    ticketId: z.uuid(),
    reservationId: z.uuid(),
    showId: z.uuid(),
    ticketTypeId: z.uuid(),
    seat: z
      .number()
      .int()
      .positive()
      .openapi({ description: 'Seat number within the reservation (1..quantity).' }),
    status: z.enum(['valid', 'admitted', 'voided']),
    code: z.string().openapi({ description: 'The door code (160 random bits, base64url).' }),
    qrPayload: z.string().openapi({
      description: 'Compact JWS (HS256) over { sub: ticket id, show, code }: what the QR code encodes.',
    }),
    issuedAt: z.iso.datetime(),
    admittedAt: z.iso.datetime().nullable(),
    voidedAt: z.iso.datetime().nullable(),
  })
  .openapi('Ticket');

const Admission = z
  .object({
    ticketId: z.uuid(),
    showId: z.uuid(),
    ticketTypeId: z.uuid(),
    seat: z.number().int(),
    status: z.literal('admitted'),
    admittedAt: z.iso.datetime(),
  })
  .openapi('Admission');

const getTicket = createRoute({
  method: 'get',
  path: '/v1/tickets/{ticketId}',
  tags: ['tickets'],
  summary: 'One of my tickets, with the payload of its QR code',
  description: 'Reads the caller from `x-user-id` (set by the gateway only). Another user’s ticket is 404.',
  request: { params: z.object({ ticketId: z.uuid() }) },
  responses: {
    200: { description: 'The ticket', content: { 'application/json': { schema: Ticket } } },
    ...problemResponses(401, 404, 422),
  },
});

const ScanRequest = z
  .strictObject({
    code: TicketCode,
    showId: z.uuid().openapi({ description: 'The show this door admits to.' }),
    gate: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, 'a gate name: letters, digits, space, . _ -')
      .optional()
      .openapi({ description: 'The door, recorded with the admission.', example: 'North 2' }),
  })
  .openapi('ScanRequest');

const scanTicket = createRoute({
  method: 'post',
  path: '/v1/tickets/scan',
  tags: ['tickets'],
  summary: 'Admit a ticket at the door of its show (exactly once)',
  description:
    'For door staff of the show (`x-user-roles` STAFF:<showId>) or an ADMIN. Of any number of scans of one code, exactly one admits; the others get 409. A ticket for another show is refused (409 `ticket-wrong-show`) and stays valid.',
  request: { body: { required: true, content: { 'application/json': { schema: ScanRequest } } } },
  responses: {
    200: { description: 'Admitted', content: { 'application/json': { schema: Admission } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

const issuingLock = {
  tags: ['admin'],
  request: { params: z.object({ showId: z.uuid() }) },
  responses: { 204: { description: 'Done' }, ...problemResponses(401, 403, 422) },
};

const lockIssuing = createRoute({
  ...issuingLock,
  method: 'put',
  path: '/v1/admin/issuing-locks/{showId}',
  summary: 'Stop issuing tickets for a show (payments then end in ticket.issue.failed and are refunded)',
});

const unlockIssuing = createRoute({
  ...issuingLock,
  method: 'delete',
  path: '/v1/admin/issuing-locks/{showId}',
  summary: 'Issue tickets for a show again',
});

/** Door staff are bound to one show (callerOf reads roles upper-cased). */
function staffRoleOf(showId: string): string {
  return staffRole(showId).toUpperCase();
}

function requireRole(c: Context, roles: readonly string[]): Caller {
  const caller = callerOf(c);
  if (!roles.some((role) => caller.roles.has(role)))
    problem(403, 'forbidden', `requires one of the roles ${roles.join(', ').toUpperCase()}`);
  return caller;
}

export function createTicketApp(deps: {
  db: TicketDb;
  signQr: (pass: { ticketId: string; showId: string; code: string }) => Promise<string>;
  bodyLimitBytes: number;
  readiness: Record<string, ReadinessCheck>;
}) {
  const app = createApp<BlankEnv>({
    serviceName: 'ticket',
    description: 'Tickets: issued once paid, voided on cancel, admitted exactly once at the door.',
    bodyLimitBytes: deps.bodyLimitBytes,
    readiness: deps.readiness,
  });

  return app
    .openapi(getTicket, async (c) => {
      const caller = callerOf(c);
      const { ticketId } = c.req.valid('param');
      const ticket = await findTicket(deps.db, ticketId);
      if (!ticket || ticket.userId !== caller.userId) problem(404, 'not-found', `no ticket ${ticketId}`);
      return c.json(
        {
          ticketId: ticket.id,
          reservationId: ticket.reservationId,
          showId: ticket.showId,
          ticketTypeId: ticket.ticketTypeId,
          seat: ticket.seat,
          status: ticket.status,
          code: ticket.code,
          qrPayload: await deps.signQr({ ticketId: ticket.id, showId: ticket.showId, code: ticket.code }),
          issuedAt: ticket.issuedAt.toISOString(),
          admittedAt: ticket.admittedAt?.toISOString() ?? null,
          voidedAt: ticket.voidedAt?.toISOString() ?? null,
        },
        200,
      );
    })
    .openapi(scanTicket, async (c) => {
      const door = c.req.valid('json');
      requireRole(c, ['ADMIN', staffRoleOf(door.showId)]);
      const admitted = await admitByCode(deps.db, door);
      if (!admitted) {
        const refusal = scanRefusal(await findByCode(deps.db, door.code), door);
        problem(refusal.status, refusal.problem, refusal.detail);
      }
      return c.json(
        {
          ticketId: admitted.id,
          showId: admitted.showId,
          ticketTypeId: admitted.ticketTypeId,
          seat: admitted.seat,
          status: 'admitted' as const,
          admittedAt: (admitted.admittedAt ?? new Date()).toISOString(),
        },
        200,
      );
    })
    .openapi(lockIssuing, async (c) => {
      const caller = requireRole(c, ['ADMIN']);
      await lockShowForIssuing(deps.db, c.req.valid('param').showId, caller.userId);
      return c.body(null, 204);
    })
    .openapi(unlockIssuing, async (c) => {
      requireRole(c, ['ADMIN']);
      await unlockShowForIssuing(deps.db, c.req.valid('param').showId);
      return c.body(null, 204);
    });
}
