// How the query service's parts are built from its configuration and the platform; main.ts declares
// the service with them.
import { askOwnerThrough } from '@reservex/platform/outbox';
import type { ServiceContext } from '@reservex/platform/service';
import { createQueryApp } from './app.ts';
import type { queryConfigShape } from './config.ts';
import { type DetailsFeed, startDetailsFeed } from './db/details-feed.ts';
import { truncateReadModel } from './db/read-model.ts';
import type { schema } from './db/schema.ts';
import { exitWhenIdle, type IdleWatch } from './idle-exit.ts';

type Context = ServiceContext<'query', typeof queryConfigShape, typeof schema>;
type Parts = { feed: DetailsFeed; idle: IdleWatch | undefined; serving: boolean };

/**
 * The live feed of detail changes, and in rebuild mode (QUERY_MODE=rebuild) an emptied read model and
 * a watch that stops the process once the replay has gone quiet.
 */
export async function readModelParts({
  config: c,
  database,
  dapr,
  log,
  onShutdown,
}: Context): Promise<Parts> {
  const rebuild = c.QUERY_MODE === 'rebuild';
  // Before serving: the sidecar subscribes only once the app answers.
  if (rebuild && c.REBUILD_TRUNCATE) await truncateReadModel(database.db);
  const feed = await startDetailsFeed(database.sql);
  onShutdown(() => feed.close());
  const idle =
    rebuild && c.REBUILD_EXIT_IDLE_MS > 0
      ? exitWhenIdle({ idleMs: c.REBUILD_EXIT_IDLE_MS, dapr, log })
      : undefined;
  return { feed, idle, serving: !rebuild };
}

/** Reservation details, timelines and live status for their owners; dead letters for operators. */
export function queryApp({ config: c, database, dapr, feed, readiness }: Context & Parts) {
  return createQueryApp({
    db: database.db,
    feed,
    bodyLimitBytes: c.BODY_LIMIT_BYTES,
    readiness,
    appearWaitMs: c.SSE_APPEAR_WAIT_MS,
    heartbeatMs: c.SSE_HEARTBEAT_MS,
    streamMaxMs: c.SSE_MAX_MS,
    askOwner: askOwnerThrough(dapr.invoke),
  });
}
