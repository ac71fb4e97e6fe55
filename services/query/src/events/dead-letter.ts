// reservex.deadletter → stored for operators to list and replay.
import type { DeadLetter } from '@reservex/platform/events';
import { handleOnce, type InboxOutcome } from '@reservex/platform/inbox';
import { withSpan } from '@reservex/platform/telemetry';
import { storeDeadLetter } from '../db/dead-letters.ts';
import type { QueryDb } from '../db/read-model.ts';

export const DEAD_LETTER_CONSUMER = 'query.dead-letters';

export function collectDeadLetter(deps: { db: QueryDb }) {
  return (letter: DeadLetter): Promise<InboxOutcome> =>
    withSpan('query dead-letter', { 'messaging.original_topic': letter.originalTopic ?? 'unknown' }, () =>
      handleOnce(deps.db, { consumer: DEAD_LETTER_CONSUMER, eventId: letter.id }, (tx) =>
        storeDeadLetter(tx, letter),
      ),
    );
}
