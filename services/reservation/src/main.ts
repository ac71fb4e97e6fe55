// The reservation service: the saga's owner. Run by the platform (`runService`).
import { defineService, inBatches, runService } from '@reservex/platform/service';
import { passRequirement, reservationConfigShape } from './config.ts';
import * as schema from './db/schema.ts';
import { sagaInBatches } from './events/apply.ts';
import { onDeadLetter } from './events/dead-letter.ts';
import { paymentCompleted } from './events/payment-completed.ts';
import { paymentFailed } from './events/payment-failed.ts';
import { stockFailed } from './events/stock-failed.ts';
import { stockReserved } from './events/stock-reserved.ts';
import { ticketIssueFailed } from './events/ticket-issue-failed.ts';
import { ticketIssued } from './events/ticket-issued.ts';
import { expirySweeper, instanceIdOf, reservationApp } from './wiring.ts';

export const service = defineService({
  name: 'reservation',
  config: reservationConfigShape,
  checkConfig: passRequirement,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: (context) => ({
    ...instanceIdOf(context),
    handlers: { db: context.eventsDatabase.db, now: () => new Date() },
  }),
  app: reservationApp,
  // Bulk deliveries, each in one transaction: Dapr would otherwise hand over one event per partition
  // at a time, and the saga would wait on each commit.
  consumes: ({ handlers }) => ({
    'stock.reserved': inBatches(sagaInBatches(handlers, stockReserved)),
    'stock.failed': inBatches(sagaInBatches(handlers, stockFailed)),
    'payment.completed': inBatches(sagaInBatches(handlers, paymentCompleted)),
    'payment.failed': inBatches(sagaInBatches(handlers, paymentFailed)),
    'ticket.issued': inBatches(sagaInBatches(handlers, ticketIssued)),
    'ticket.issue.failed': inBatches(sagaInBatches(handlers, ticketIssueFailed)),
  }),
  deadLetters: ({ handlers }) => onDeadLetter(handlers),
  relay: true,
  workers: (context) => [expirySweeper(context)],
  started: (config) => ({ hold_ttl_seconds: config.HOLD_TTL_SECONDS, require_pass: config.REQUIRE_PASS }),
});

await runService(service, import.meta);
