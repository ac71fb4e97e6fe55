// Every participant event moves the saga the same way: once per CloudEvent id (inbox), through the
// domain's decision, in one transaction with the transition and any event it emits (outbox). A bulk
// delivery does the same for each of its events, in delivery order, in one transaction of a few
// statements.
import type { EventOf } from '@reservex/contracts';
import type { Executor } from '@reservex/platform/db';
import { type BatchHandler, type DeliveryContext, PermanentError } from '@reservex/platform/events';
import { handleEachOnce, handleOnce, inboxKeyOf } from '@reservex/platform/inbox';
import { type Span, sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import {
  type AdvanceOutcome,
  advanceSaga,
  advanceSagas,
  type ReservationDatabase,
} from '../db/reservations.ts';
import type { ParticipantEvent } from '../domain/plausibility.ts';
import type { SagaInput } from '../domain/saga.ts';

export type HandlerContext = { db: ReservationDatabase; now: () => Date };

/** The inbox consumer name of the saga's event handlers. */
export const CONSUMER = 'reservation';

type Delivery = Pick<DeliveryContext, 'id' | 'topic' | 'log'>;
type StepOptions = { step: string; consumer?: string; facts?: ParticipantEvent };

export async function applyToSaga(
  deps: HandlerContext,
  reservationId: string,
  input: SagaInput,
  delivery: Delivery,
  options: StepOptions,
): Promise<void> {
  await withSpan(
    `saga ${options.step}`,
    sagaAttributes({ step: options.step, reservationId }),
    async (span) => {
      const inbox = await handleOnce(
        deps.db,
        { consumer: options.consumer ?? CONSUMER, eventId: delivery.id, topic: delivery.topic },
        (tx) => advance(tx, deps, reservationId, input, delivery, options, span),
      );
      span.setAttribute('inbox.outcome', inbox);
    },
  );
}

/** The topics whose events move the saga: the participants' answers. */
export type ParticipantTopic =
  | 'stock.reserved'
  | 'stock.failed'
  | 'payment.completed'
  | 'payment.failed'
  | 'ticket.issued'
  | 'ticket.issue.failed';

/** What a participant event means to the saga: the input, the step it names, the facts it states. */
export type SagaStepOf<T extends ParticipantTopic> = (event: EventOf<T>) => {
  input: SagaInput;
  step: string;
  facts: ParticipantEvent;
};

/** One event per delivery, as `applyToSaga` applies it. */
export function sagaHandler<T extends ParticipantTopic>(deps: HandlerContext, stepOf: SagaStepOf<T>) {
  return (event: EventOf<T>, ctx: DeliveryContext) => {
    const { input, step, facts } = stepOf(event);
    return applyToSaga(deps, event.reservationId, input, ctx, { step, facts });
  };
}

/**
 * A bulk delivery of one topic in one transaction, in a handful of statements however many events it
 * carries: the inbox records each event once, `advanceSagas` locks the reservations it names (in id
 * order, so deliveries of other topics cannot deadlock with it) and applies each event as
 * `applyToSaga` would, in delivery order, so one reservation's events keep theirs. An implausible
 * event fails the delivery; its events are then handed over one by one.
 */
export function sagaInBatches<T extends ParticipantTopic>(
  deps: HandlerContext,
  stepOf: SagaStepOf<T>,
): BatchHandler<T> {
  return async (entries) => {
    const keys = entries.map((entry) => ({ ...inboxKeyOf(CONSUMER, entry), entry }));
    await handleEachOnce(deps.db, keys, async (tx, fresh) => {
      const steps = fresh.map(({ entry }) => ({ entry, ...stepOf(entry.event) }));
      const outcomes = await advanceSagas(
        tx,
        steps.map(({ entry, input, facts }) => ({
          reservationId: reservationOf(entry.event),
          input,
          cause: { cause: entry.ctx.topic, eventId: entry.ctx.id },
          facts,
        })),
        deps.now(),
        (index, fn) => steps[index]!.entry.within(fn),
      );
      steps.forEach(({ entry, step }, index) => {
        const reservationId = reservationOf(entry.event);
        entry.within((span) => {
          span.setAttributes(sagaAttributes({ step, reservationId }));
          report(outcomes[index]!, reservationId, entry.ctx, span);
        });
      });
    });
  };
}

const reservationOf = (event: unknown) => (event as { reservationId: string }).reservationId;

async function advance(
  tx: Executor,
  deps: HandlerContext,
  reservationId: string,
  input: SagaInput,
  delivery: Delivery,
  options: StepOptions,
  span: Span,
): Promise<void> {
  const outcome = await advanceSaga(
    tx,
    reservationId,
    input,
    { cause: delivery.topic, eventId: delivery.id },
    deps.now(),
    options.facts,
  );
  report(outcome, reservationId, delivery, span);
}

/** What an applied input did, on its span and in the log; an implausible one is refused. */
function report(outcome: AdvanceOutcome, reservationId: string, delivery: Delivery, span: Span): void {
  // Thrown inside the transaction: nothing is recorded, and the event is dead-lettered with why.
  if (outcome.kind === 'implausible')
    throw new PermanentError(`implausible for reservation ${reservationId}: ${outcome.reason}`);
  if (outcome.kind === 'unknown-reservation') {
    delivery.log.warn({ reservation_id: reservationId }, 'event for an unknown reservation ignored');
    span.setAttribute('saga.outcome', 'unknown-reservation');
    return;
  }
  span.setAttributes({
    'saga.from': outcome.from,
    'saga.to': outcome.to,
    'saga.decision': outcome.decision.kind,
  });
  if (outcome.decision.kind === 'ignore') {
    delivery.log.info({ reservation_id: reservationId, why: outcome.decision.why }, 'saga input ignored');
  }
}
