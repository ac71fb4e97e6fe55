// Every saga topic → the reservation's timeline and its ReservationDetails (one handler for all
// topics: the projection reads each event the same way, and the order they arrive in does not matter).
import type { EventOf, Topic } from '@reservex/contracts';
import { handleOnce, type InboxOutcome } from '@reservex/platform/inbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { asRecorded, type QueryDb, recordSagaEvent } from '../db/read-model.ts';

export type Delivery = { id: string; traceparent?: string | undefined };

export function projectSagaEvent(deps: { db: QueryDb; consumer: string }) {
  return <T extends Topic>(topic: T, event: EventOf<T>, delivery: Delivery): Promise<InboxOutcome> =>
    withSpan(
      'query project',
      sagaAttributes({ step: `query.${topic}`, reservationId: event.reservationId }),
      () =>
        handleOnce(deps.db, { consumer: deps.consumer, eventId: delivery.id, topic }, async (tx) => {
          await recordSagaEvent(
            tx,
            asRecorded({ topic, data: event } as never, {
              eventId: delivery.id,
              traceparent: delivery.traceparent,
            }),
          );
        }),
    );
}
