// A dead-lettered event of a saga means the step that needed it will never happen: the saga is
// cancelled with REJECTED_EVENT so it still ends and every participant compensates. Dead letters of
// sagas that already ended (a rejected reservation.cancelled, say) change nothing, and neither do
// dead letters that do not carry their topic owner's signature (forgeries written to the broker).
import type { DeadLetter, DeliveryContext } from '@reservex/platform/events';
import { z } from 'zod';
import { applyToSaga, type HandlerContext } from './apply.ts';

const SagaReference = z.object({ reservationId: z.uuid() });

export function onDeadLetter(deps: HandlerContext) {
  return async (letter: DeadLetter, ctx: DeliveryContext) => {
    // A forgery refused for its signature is dead-lettered too: it must not cancel the saga it names.
    if (!letter.verdict.authentic) {
      ctx.log.warn(
        { original_topic: letter.originalTopic, reason: letter.verdict.reason },
        'dead letter not signed by its topic owner; the saga it names is left alone',
      );
      return;
    }
    const reference = SagaReference.safeParse(letter.data);
    if (!reference.success) {
      ctx.log.warn(
        { original_topic: letter.originalTopic, source: letter.source },
        'dead letter names no saga',
      );
      return;
    }
    await applyToSaga(
      deps,
      reference.data.reservationId,
      { type: 'event.rejected', topic: letter.originalTopic ?? 'an event' },
      { ...ctx, topic: 'dead-letter' },
      // Its own inbox name: the dead letter keeps the CloudEvent id of the original, which the
      // saga's handlers may have recorded as handled already.
      { step: 'reservation.cancel', consumer: 'reservation.dead-letters' },
    );
  };
}
