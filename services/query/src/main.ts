// The read model: reservation details and timelines from saga events, live status, dead letters.
// Run by the platform (`runService`); QUERY_MODE=rebuild runs it as a one-off replay (the chart's
// queryRebuild Job; locally dev/rebuild-read-model.ts).
import { topology } from '@reservex/contracts';
import { defineService, eachTopic, inBatches, runService } from '@reservex/platform/service';
import { queryConfigShape } from './config.ts';
import { schema } from './db/schema.ts';
import { collectDeadLetter } from './events/dead-letter.ts';
import { projectSagaEvents } from './events/saga-event.ts';
import { queryApp, readModelParts } from './wiring.ts';

export const service = defineService({
  name: 'query',
  config: queryConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: readModelParts,
  app: queryApp,
  // Bulk deliveries, each projected in one transaction.
  consumes: ({ config, eventsDatabase, idle }) => {
    const project = projectSagaEvents({ db: eventsDatabase.db, consumer: config.PROJECTION_CONSUMER });
    return eachTopic(topology.query.consumes, () =>
      inBatches(async (entries) => {
        await project(entries);
        idle?.record();
      }),
    );
  },
  // Dead letters are collected by the serving process only; a replay is published by the topic's owner.
  deadLetters: ({ database, serving }) => (serving ? collectDeadLetter({ db: database.db }) : undefined),
});

await runService(service, import.meta);
