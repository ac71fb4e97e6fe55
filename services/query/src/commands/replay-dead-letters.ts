// `npm run replay-dead-letters -w @reservex/query -- <dead letter id>... | --all | --never-replayed`
// Asks the owner of each dead letter's topic to publish its event again (only the owner may publish
// it), through the query service's sidecar: run it where query's sidecar is (on Kubernetes, in the
// query pod, which has DATABASE_URL, DAPR_HTTP_PORT and DAPR_API_TOKEN). Without DATABASE_URL, the
// running local stack's query database (see local-stack.ts).
import { parseArgs } from 'node:util';
import { databaseUrl } from '@reservex/local';
import { baseConfigShape, databaseConfigShape, loadConfig } from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase } from '@reservex/platform/db';
import { askOwnerThrough } from '@reservex/platform/outbox';
import { deadLetterIds, replayDeadLetter } from '../db/dead-letters.ts';
import { schema } from '../db/schema.ts';
import { runningInfra } from './local-stack.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    all: { type: 'boolean', default: false },
    'never-replayed': { type: 'boolean', default: false },
  },
});
if (!values.all && !values['never-replayed'] && positionals.length === 0) {
  console.error('usage: replay-dead-letters <dead letter id>... | --all | --never-replayed');
  process.exit(2);
}

const url = process.env.DATABASE_URL
  ? loadConfig(databaseConfigShape).DATABASE_URL
  : databaseUrl(runningInfra().postgres, 'query');
const sidecar = loadConfig({
  DAPR_HOST: baseConfigShape.DAPR_HOST,
  DAPR_HTTP_PORT: baseConfigShape.DAPR_HTTP_PORT,
  DAPR_API_TOKEN: baseConfigShape.DAPR_API_TOKEN,
});
const dapr = createDapr({
  host: sidecar.DAPR_HOST,
  httpPort: sidecar.DAPR_HTTP_PORT,
  apiToken: sidecar.DAPR_API_TOKEN,
});
const askOwner = askOwnerThrough(dapr.invoke);
const database = createDatabase(url, schema, { max: 2 });
let failed = 0;
try {
  const ids =
    positionals.length > 0
      ? positionals
      : await deadLetterIds(database.db, { onlyNeverReplayed: values['never-replayed'] });
  for (const id of ids) {
    if (!/^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i.test(id)) {
      console.error(`${id}: not a dead letter id (a UUID)`);
      failed++;
      continue;
    }
    const result = await replayDeadLetter(database.db, id, askOwner);
    switch (result.outcome) {
      case 'replayed':
        console.error(
          `${id}: ${result.topic} event ${result.eventId} queued again by its owner (replay #${result.replayCount})`,
        );
        break;
      case 'not-found':
        console.error(`${id}: no such dead letter`);
        failed++;
        break;
      case 'not-replayable':
        console.error(`${id}: not replayed: ${result.reason}`);
        failed++;
        break;
      default:
        result satisfies never;
    }
  }
  console.error(`${ids.length - failed} of ${ids.length} dead letters queued for publication`);
} finally {
  await database.close();
}
process.exit(failed > 0 ? 1 : 0);
