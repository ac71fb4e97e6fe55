// Every saga topic → the reservation's timeline and its ReservationDetails (one handler for all
// topics: the projection reads each event the same way, and the order they arrive in does not matter).
import type { EventOf, Topic } from '@reservex/contracts';
import type { BatchHandler } from '@reservex/platform/events';
import { handleEachOnce, handleOnce, type InboxOutcome, inboxKeyOf } from '@reservex/platform/inbox';
import { sagaAttributes, withSpan } from '@reservex/platform/telemetry';
import { asRecorded, type QueryDb, recordSagaEvent, recordSagaEvents } from '../db/read-model.ts';

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

/**
 * A bulk delivery of one topic in one transaction: the inbox keeps each event once, and the new
 * events are projected together (see `recordSagaEvents`).
 */
export function projectSagaEvents<T extends Topic>(deps: { db: QueryDb; consumer: string }): BatchHandler<T> {
  return async (entries) => {
    const keys = entries.map((entry) => ({ ...inboxKeyOf(deps.consumer, entry), entry }));
    await handleEachOnce(deps.db, keys, async (tx, fresh) => {
      for (const { entry } of fresh) {
        entry.within((span) =>
          span.setAttributes(
            sagaAttributes({ step: `query.${entry.ctx.topic}`, reservationId: entry.event.reservationId }),
          ),
        );
      }
      await recordSagaEvents(
        tx,
        fresh.map(({ entry }) =>
          asRecorded({ topic: entry.ctx.topic, data: entry.event } as never, {
            eventId: entry.ctx.id,
            traceparent: entry.ctx.traceparent,
          }),
        ),
      );
    });
  };
}
