// `node services/query/src/commands/replay-dead-letters.ts <dead letter id>... | --all | --never-replayed`
// Publishes dead letters again to their original topics, through the query service's outbox: the
// running query service's relay sends them (it wakes on the outbox NOTIFY). Takes the query database
// from DATABASE_URL, as the service does. On Kubernetes, run it in the query pod, which has it:
//   kubectl -n reservex exec deploy/reservex-query -c query -- \
//     node services/query/src/commands/replay-dead-letters.ts --never-replayed
// Against `npm start`'s stack: `npm run replay-dead-letters -w @reservex/query -- ...` (dev/).
import { parseArgs } from 'node:util';
import { databaseConfigShape, loadConfig } from '@reservex/platform/config';
import { createDatabase } from '@reservex/platform/db';
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

const config = loadConfig(databaseConfigShape);
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
    const result = await replayDeadLetter(database.db, id);
    switch (result.outcome) {
      case 'replayed':
        console.error(
          `${id}: queued for ${result.topic} as event ${result.eventId} (replay #${result.replayCount})`,
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
