// What inventory's event handlers share: the database and the clock.
import type { InventoryDatabase } from '../db/catalogue.ts';

export type HandlerContext = {
  db: InventoryDatabase;
  now: () => Date;
};

/** The inbox key of a delivery: one consumer name per service, the CloudEvent id. */
export const CONSUMER = 'inventory';
