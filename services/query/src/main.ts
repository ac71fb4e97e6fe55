// The read model: reservation details and timelines from saga events, live status, dead letters.
// Run by the platform (`runService`); QUERY_MODE=rebuild runs it as a one-off replay (the chart's
// queryRebuild Job; locally dev/rebuild-read-model.ts).
import { topology } from '@reservex/contracts';
import { askOwnerThrough } from '@reservex/platform/outbox';
import { defineService, eachTopic, runService } from '@reservex/platform/service';
import { createQueryApp } from './app.ts';
import { queryConfigShape } from './config.ts';
import { startDetailsFeed } from './db/details-feed.ts';
import { truncateReadModel } from './db/read-model.ts';
import { schema } from './db/schema.ts';
import { collectDeadLetter } from './events/dead-letter.ts';
import { projectSagaEvent } from './events/saga-event.ts';
import { exitWhenIdle } from './idle-exit.ts';

export const service = defineService({
  name: 'query',
  config: queryConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: async ({ config: c, database, dapr, log, onShutdown }) => {
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
  },
  app: ({ config: c, database, dapr, feed, readiness }) =>
    createQueryApp({
      db: database.db,
      feed,
      bodyLimitBytes: c.BODY_LIMIT_BYTES,
      readiness,
      appearWaitMs: c.SSE_APPEAR_WAIT_MS,
      heartbeatMs: c.SSE_HEARTBEAT_MS,
      streamMaxMs: c.SSE_MAX_MS,
      askOwner: askOwnerThrough(dapr.invoke),
    }),
  consumes: ({ config, database, idle }) => {
    const project = projectSagaEvent({ db: database.db, consumer: config.PROJECTION_CONSUMER });
    return eachTopic(topology.query.consumes, (topic) => async (event, delivery) => {
      await project(topic, event, delivery);
      idle?.record();
    });
  },
  // Dead letters are collected by the serving process only; a replay is published by the topic's owner.
  deadLetters: ({ database, serving }) => (serving ? collectDeadLetter({ db: database.db }) : undefined),
});

await runService(service, import.meta);
