import {
  baseConfigShape,
  booleanFromString,
  databaseConfigShape,
  durationFromString,
} from '@reservex/platform/config';
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
  /** rebuild: empty the read model before subscribing (a Kubernetes rebuild Job; the local command does it itself). */
  REBUILD_TRUNCATE: booleanFromString().default(false),
  /**
   * rebuild: once no event has been projected for this long, shut the sidecar down and exit (a
   * Kubernetes Job must end by itself). 0: keep running until stopped.
   */
  REBUILD_EXIT_IDLE_MS: durationFromString().default(0),
  SSE_APPEAR_WAIT_MS: durationFromString().default(5000),
  SSE_HEARTBEAT_MS: durationFromString().default(15_000),
  SSE_MAX_MS: durationFromString().default(300_000),
};
