// The ticket service: issues, voids and scans tickets. Run by the platform (`runService`).
import { randomBytes } from 'node:crypto';
import { defineService, inBatches, runService } from '@reservex/platform/service';
import { createTicketApp } from './app.ts';
import { ticketConfigShape } from './config.ts';
import { schema } from './db/schema.ts';
import { parseLockedShows } from './domain/issuing.ts';
import { createTicketSigner } from './domain/ticket-code.ts';
import { issueTicketsInBatches } from './events/payment-completed.ts';
import { voidCancelledTicketsInBatches } from './events/reservation-cancelled.ts';

export const service = defineService({
  name: 'ticket',
  config: ticketConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  app: ({ config, database, readiness, log }) => {
    if (!config.TICKET_SIGNING_SECRET)
      log.warn('TICKET_SIGNING_SECRET is not set: QR payloads are signed with a per-process key');
    const secret = config.TICKET_SIGNING_SECRET ?? randomBytes(32).toString('base64url');
    const signQr = createTicketSigner(secret).sign;
    return createTicketApp({ db: database.db, signQr, bodyLimitBytes: config.BODY_LIMIT_BYTES, readiness });
  },
  // Bulk deliveries, each in one transaction.
  consumes: ({ config, eventsDatabase: { db } }) => ({
    'payment.completed': inBatches(
      issueTicketsInBatches({ db, lockedShows: parseLockedShows(config.TICKET_ISSUING_LOCKED_SHOWS) }),
    ),
    'reservation.cancelled': inBatches(voidCancelledTicketsInBatches({ db })),
  }),
  relay: true,
});

await runService(service, import.meta);
