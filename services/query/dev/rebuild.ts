// `npm run rebuild -w @reservex/query [-- --idle-s 10 --max-s 900]`: empties the read model and
// replays every saga event from Kafka through Dapr with a fresh consumer group (see rebuild-read-model.ts).
// Uses the running local stack (`npm start`), found through its infra.json: the newest one under the
// runs directory, or RESERVEX_INFRA=<path>.
import { parseArgs } from 'node:util';
import { rebuildReadModel } from './rebuild-read-model.ts';
import { runningInfra } from './running-stack.ts';

const { values } = parseArgs({
  options: {
    'idle-s': { type: 'string', default: '10' },
    'max-s': { type: 'string', default: '900' },
    database: { type: 'string', default: 'query' },
  },
});

const result = await rebuildReadModel({
  infra: runningInfra(),
  database: values.database,
  idleMs: Number(values['idle-s']) * 1000,
  maxMs: Number(values['max-s']) * 1000,
  onProgress: (events) => process.stderr.write(`\r${events} events projected   `),
});
process.stderr.write('\n');
console.error(
  `rebuilt from consumer group ${result.consumerGroup}: ${result.events} events, ${result.reservations} reservations`,
);
if (!result.finishedByItself) {
  console.error(
    `the replay was still going after --max-s ${values['max-s']}: the read model may be incomplete`,
  );
  process.exitCode = 1;
}
