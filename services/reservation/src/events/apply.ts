// Every participant event moves the saga the same way: once per CloudEvent id (inbox), through the
// domain's decision, in one transaction with the transition and any event it emits (outbox).
import { type DeliveryContext, PermanentError } from '@reservex/platform/events';
import { handleOnce } from '@reservex/platform/inbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { advanceSaga, type ReservationDatabase } from '../db/reservations.ts';
import type { ParticipantEvent } from '../domain/plausibility.ts';
import type { SagaInput } from '../domain/saga.ts';

export type HandlerContext = { db: ReservationDatabase; now: () => Date };

/** The inbox consumer name of the saga's event handlers. */
export const CONSUMER = 'reservation';

export async function applyToSaga(
  deps: HandlerContext,
  reservationId: string,
  input: SagaInput,
  delivery: Pick<DeliveryContext, 'id' | 'topic' | 'log'>,
  options: { step: string; consumer?: string; facts?: ParticipantEvent },
): Promise<void> {
  await withSpan(
    `saga ${options.step}`,
    sagaAttributes({ step: options.step, reservationId }),
    async (span) => {
      const inbox = await handleOnce(
        deps.db,
        { consumer: options.consumer ?? CONSUMER, eventId: delivery.id, topic: delivery.topic },
        async (tx) => {
          const outcome = await advanceSaga(
            tx,
            reservationId,
            input,
            { cause: delivery.topic, eventId: delivery.id },
            deps.now(),
            options.facts,
          );
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
            delivery.log.info(
              { reservation_id: reservationId, why: outcome.decision.why },
              'saga input ignored',
            );
          }
        },
      );
      span.setAttribute('inbox.outcome', inbox);
    },
  );
}
