// The reservation service: the saga's owner. Run by the platform (`runService`).
import { defineService, runService } from '@reservex/platform/service';
import { passRequirement, reservationConfigShape } from './config.ts';
import * as schema from './db/schema.ts';
import { onDeadLetter } from './events/dead-letter.ts';
import { onPaymentCompleted } from './events/payment-completed.ts';
import { onPaymentFailed } from './events/payment-failed.ts';
import { onStockFailed } from './events/stock-failed.ts';
import { onStockReserved } from './events/stock-reserved.ts';
import { onTicketIssueFailed } from './events/ticket-issue-failed.ts';
import { onTicketIssued } from './events/ticket-issued.ts';
import { expirySweeper, instanceIdOf, reservationApp } from './wiring.ts';

export const service = defineService({
  name: 'reservation',
  config: reservationConfigShape,
  checkConfig: passRequirement,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: (context) => ({
    ...instanceIdOf(context),
    handlers: { db: context.database.db, now: () => new Date() },
  }),
  app: reservationApp,
  consumes: ({ handlers }) => ({
    'stock.reserved': onStockReserved(handlers),
    'stock.failed': onStockFailed(handlers),
    'payment.completed': onPaymentCompleted(handlers),
    'payment.failed': onPaymentFailed(handlers),
    'ticket.issued': onTicketIssued(handlers),
    'ticket.issue.failed': onTicketIssueFailed(handlers),
  }),
  deadLetters: ({ handlers }) => onDeadLetter(handlers),
  relay: true,
  workers: (context) => [expirySweeper(context)],
  started: (config) => ({ hold_ttl_seconds: config.HOLD_TTL_SECONDS, require_pass: config.REQUIRE_PASS }),
});

await runService(service, import.meta);
