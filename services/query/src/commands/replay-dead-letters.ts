// `node services/query/src/commands/replay-dead-letters.ts <dead letter id>... | --all | --never-replayed`
// Asks the owner of each dead letter's topic to publish its event again (only the owner may publish
// it) through query's sidecar, so run it beside that sidecar. Takes the query database from
// DATABASE_URL and the sidecar from DAPR_HTTP_PORT and DAPR_API_TOKEN, as the service does. On
// Kubernetes, run it in the query pod, which has them:
//   kubectl -n reservex exec deploy/reservex-query -c query -- \
//     node services/query/src/commands/replay-dead-letters.ts --never-replayed
// Against `npm start`'s stack: `npm run replay-dead-letters -w @reservex/query -- ...` (dev/).
import { parseArgs } from 'node:util';
import { baseConfigShape, databaseConfigShape, loadConfig } from '@reservex/platform/config';
import { createDapr } from '@reservex/platform/dapr';
import { createDatabase } from '@reservex/platform/db';
import { askOwnerThrough } from '@reservex/platform/outbox';
import { deadLetterIds, replayDeadLetter } from '../db/dead-letters.ts';
import { schema } from '../db/schema.ts';

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

const config = loadConfig({
  ...databaseConfigShape,
  DAPR_HOST: baseConfigShape.DAPR_HOST,
  DAPR_HTTP_PORT: baseConfigShape.DAPR_HTTP_PORT,
  DAPR_API_TOKEN: baseConfigShape.DAPR_API_TOKEN,
});
const dapr = createDapr({
  host: config.DAPR_HOST,
  httpPort: config.DAPR_HTTP_PORT,
  apiToken: config.DAPR_API_TOKEN,
});
const askOwner = askOwnerThrough(dapr.invoke);
const database = createDatabase(config.DATABASE_URL, schema, { max: 2 });
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
