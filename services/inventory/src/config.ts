// Inventory's configuration: the platform's settings plus how stock is allocated.
import { baseConfigShape, databaseConfigShape, loadConfig } from '@reservex/platform/config';
import { z } from 'zod';
import { allocationStrategies } from './db/holds.ts';

export const inventoryConfigShape = {
  ...baseConfigShape,
  ...databaseConfigShape,
  /** atomic: conditional UPDATE, no lock held while deciding; pessimistic: SELECT … FOR UPDATE (baseline). */
  INVENTORY_STRATEGY: z
    .enum(allocationStrategies)
    .default('atomic')
    .describe(`one of ${allocationStrategies.join(', ')}`),
};

export function loadInventoryConfig() {
  return loadConfig(inventoryConfigShape);
}
