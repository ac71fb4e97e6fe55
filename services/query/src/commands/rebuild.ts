// `npm run rebuild -w @reservex/query [-- --idle-s 10 --max-s 900]`: empties the read model and
// replays every saga event from Kafka through Dapr with a fresh consumer group (see ../rebuild.ts).
// Uses the running local stack (`npm start`), found through its infra.json: the newest one under the
// runs directory, or RESERVEX_INFRA=<path>.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { InfraInfo } from '@reservex/local';
import { rebuildReadModel } from '../rebuild.ts';

const { values } = parseArgs({
  options: {
    'idle-s': { type: 'string', default: '10' },
    'max-s': { type: 'string', default: '900' },
    database: { type: 'string', default: 'query' },
  },
});

function runningInfra(): InfraInfo {
  const explicit = process.env.RESERVEX_INFRA;
  if (explicit) return JSON.parse(readFileSync(explicit, 'utf8')) as InfraInfo;
  const runs = process.env.RESERVEX_RUNS ?? join(tmpdir(), 'reservex');
  const newest = (existsSync(runs) ? readdirSync(runs) : [])
    .map((name) => join(runs, name, 'infra.json'))
    .filter((file) => existsSync(file))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) {
    console.error(`no running local stack under ${runs}: start it with \`npm start\`, or set RESERVEX_INFRA`);
    process.exit(1);
  }
  return JSON.parse(readFileSync(newest, 'utf8')) as InfraInfo;
}

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
