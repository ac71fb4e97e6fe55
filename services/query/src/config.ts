import { baseConfigShape, databaseConfigShape, durationFromString } from '@reservex/platform/config';
import { z } from 'zod';

export const queryConfigShape = {
  ...baseConfigShape,
  ...databaseConfigShape,
  /**
   * `serve`: the API, the projection and the dead letters. `rebuild`: only the projection, fed by the
   * pub/sub component PUBSUB_NAME (one with a fresh consumer group), under its own inbox consumer.
   */
  QUERY_MODE: z.enum(['serve', 'rebuild'], 'serve or rebuild').default('serve'),
  /** Inbox consumer name of the projection; a rebuild uses a fresh one so no event counts as seen. */
  PROJECTION_CONSUMER: z.string().trim().min(1).max(100).default('query.project'),
  SSE_APPEAR_WAIT_MS: durationFromString().default(5000),
  SSE_HEARTBEAT_MS: durationFromString().default(15_000),
  SSE_MAX_MS: durationFromString().default(300_000),
};
