// The read model: reservation details and timelines from saga events, live status, dead letters.
// Run by the platform (`runService`); QUERY_MODE=rebuild runs it as a one-off replay (the chart's
// queryRebuild Job; locally dev/rebuild-read-model.ts).
import { topology } from '@reservex/contracts';
import { defineService, eachTopic, runService } from '@reservex/platform/service';
import { queryConfigShape } from './config.ts';
import { schema } from './db/schema.ts';
import { collectDeadLetter } from './events/dead-letter.ts';
import { projectSagaEvent } from './events/saga-event.ts';
import { queryApp, readModelParts } from './wiring.ts';

export const service = defineService({
  name: 'query',
  config: queryConfigShape,
  database: { schema, migrations: new URL('../drizzle', import.meta.url) },
  setup: readModelParts,
  app: queryApp,
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
