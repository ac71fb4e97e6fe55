// What inventory's event handlers share: the database and how stock is allocated.
import type { InventoryDatabase } from '../db/catalogue.ts';
import type { AllocationStrategy } from '../db/holds.ts';

export type HandlerContext = {
  db: InventoryDatabase;
  strategy: AllocationStrategy;
  now: () => Date;
};

/** The inbox key of a delivery: one consumer name per service, the CloudEvent id. */
export const CONSUMER = 'inventory';
