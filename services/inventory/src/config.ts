// Inventory's configuration: the platform's settings plus how stock is allocated.
import {
  baseConfigShape,
  databaseConfigShape,
  durationFromString,
  intFromString,
} from '@reservex/platform/config';
import { z } from 'zod';
import { allocationStrategies } from './db/holds.ts';

export const inventoryConfigShape = {
  ...baseConfigShape,
  ...databaseConfigShape,
  /**
   * batched: a bulk-subscribed batch of requests per transaction, one lock per ticket type per batch;
   * atomic: a conditional UPDATE per request; pessimistic: SELECT … FOR UPDATE per request (baseline).
   */
  INVENTORY_STRATEGY: z
    .enum(allocationStrategies)
    .default('batched')
    .describe(`one of ${allocationStrategies.join(', ')}`),
  /** batched: most reservation.created per bulk delivery (and per transaction). */
  INVENTORY_BATCH_MAX: intFromString({ min: 1, max: 1000 }).default(500),
  /** batched: how long the sidecar waits to fill a bulk delivery before sending what it has. */
  INVENTORY_BATCH_WAIT_MS: durationFromString({ min: 1, max: 1000 }).default(10),
};
