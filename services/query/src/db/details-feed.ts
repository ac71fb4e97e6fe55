// Live changes of the read model: each projection NOTIFYs the reservation id on commit; every replica
// LISTENs once and fans the notifications out to its open SSE streams.
import { EventEmitter } from 'node:events';
import type { Sql } from '@reservex/platform/db';
import { DETAILS_CHANNEL } from './schema.ts';

export type DetailsFeed = {
  /** Calls `onChange` whenever the reservation's details changed; returns the unsubscribe. */
  watch(reservationId: string, onChange: () => void): () => void;
  close(): Promise<void>;
};

export async function startDetailsFeed(sql: Sql): Promise<DetailsFeed> {
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const listening = await sql.listen(DETAILS_CHANNEL, (reservationId) => changes.emit(reservationId));
  return {
    watch(reservationId, onChange) {
      changes.on(reservationId, onChange);
      return () => changes.off(reservationId, onChange);
    },
    async close() {
      changes.removeAllListeners();
      await listening.unlisten();
    },
  };
}
