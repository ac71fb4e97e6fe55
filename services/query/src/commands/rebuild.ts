// `npm run rebuild -w @reservex/query`: rebuilds the read model from scratch.
//
// 1. Empties ReservationDetails and the timeline.
// 2. Replays every saga event from Kafka through Dapr: a second query process runs in
//    QUERY_MODE=rebuild next to its own daprd, whose pub/sub component is the platform's Kafka
//    component with a fresh `consumerGroup` (and `initialOffset: oldest`), so it reads each topic
//    from the beginning; it projects under a fresh inbox consumer name, so no event counts as seen.
//    The live query service keeps running meanwhile; the projection is idempotent and
//    order-independent, so both writing the same reservations converge on the same details.
// 3. Stops when no new event arrived for --idle-s seconds (Dapr exposes no consumer lag).
//
// Locally it uses the running stack (`npm start`), found through its infra.json (newest under the
// runs directory, or RESERVEX_INFRA=<path>). On Kubernetes the same replay is a Job running the query
// image with QUERY_MODE=rebuild, PUBSUB_NAME=<a component with a fresh consumerGroup> and
// PROJECTION_CONSUMER=<fresh name>, after truncating the two tables. Kafka's retention bounds what can
// be replayed.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { databaseUrl, type InfraInfo, startApps } from '@reservex/local';
import { createDatabase } from '@reservex/platform/db';
import { sql } from 'drizzle-orm';
import { stringify } from 'yaml';
import { truncateReadModel } from '../db/read-model.ts';
import { schema, timelineEvents } from '../db/schema.ts';

const { values } = parseArgs({
  options: {
    'idle-s': { type: 'string', default: '10' },
    'max-s': { type: 'string', default: '900' },
  },
});
const idleMs = Number(values['idle-s']) * 1000;
const maxMs = Number(values['max-s']) * 1000;

function runningInfra(): InfraInfo {
  const explicit = process.env.RESERVEX_INFRA;
  if (explicit) return JSON.parse(readFileSync(explicit, 'utf8')) as InfraInfo;
  const runs = process.env.RESERVEX_RUNS ?? join(process.env.TMPDIR ?? '/tmp', 'reservex');
  const candidates = existsSync(runs)
    ? readdirSync(runs)
        .map((name) => join(runs, name, 'infra.json'))
        .filter((file) => existsSync(file))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    : [];
  if (!candidates[0]) {
    console.error(
      `no running local stack found under ${runs}: start it with \`npm start\`, or set RESERVEX_INFRA`,
    );
    process.exit(1);
  }
  return JSON.parse(readFileSync(candidates[0], 'utf8')) as InfraInfo;
}

const infra = runningInfra();
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const consumerGroup = `query-rebuild-${stamp}`;

// The run's Dapr resources plus one pub/sub component reading Kafka as a brand-new consumer group.
const resourcesDir = join(infra.runDir, `query-rebuild-${stamp}`, 'resources');
mkdirSync(resourcesDir, { recursive: true });
for (const file of readdirSync(infra.dapr.resourcesDir)) {
  copyFileSync(join(infra.dapr.resourcesDir, file), join(resourcesDir, file));
}
const platformPubsub = readFileSync(
  join(infra.dapr.resourcesDir, `component-${infra.dapr.components.pubsub}.yaml`),
  'utf8',
);
const brokers = /name: brokers\s+value: (\S+)/.exec(platformPubsub)?.[1];
const version = /name: version\s+value: (\S+)/.exec(platformPubsub)?.[1];
if (!brokers) throw new Error('cannot read the Kafka brokers of the platform pub/sub component');
writeFileSync(
  join(resourcesDir, 'component-pubsub-rebuild.yaml'),
  stringify({
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'pubsub-rebuild' },
    spec: {
      type: 'pubsub.kafka',
      version: 'v1',
      metadata: [
        { name: 'brokers', value: brokers },
        { name: 'authType', value: 'none' },
        ...(version ? [{ name: 'version', value: version }] : []),
        { name: 'consumerGroup', value: consumerGroup },
        { name: 'initialOffset', value: 'oldest' },
      ],
    },
  }),
);

const database = createDatabase(databaseUrl(infra.postgres, 'query'), schema, { max: 2 });
const countEvents = async () => {
  const [row] = await database.db.select({ n: sql<number>`count(*)::int` }).from(timelineEvents);
  return row!.n;
};

try {
  await truncateReadModel(database.db);
  console.error(`read model emptied; replaying from Kafka as consumer group ${consumerGroup}`);
  const replay = await startApps({
    infra: { ...infra, dapr: { ...infra.dapr, resourcesDir } },
    apps: [
      {
        appId: 'query-rebuild',
        args: ['services/query/src/main.ts'],
        database: 'query',
        env: {
          QUERY_MODE: 'rebuild',
          PUBSUB_NAME: 'pubsub-rebuild',
          PROJECTION_CONSUMER: `query.rebuild.${stamp}`,
          LOG_LEVEL: 'warn',
        },
        readyTimeoutMs: 120_000,
      },
    ],
  });
  try {
    const started = Date.now();
    let last = -1;
    let lastChange = Date.now();
    while (Date.now() - started < maxMs) {
      const now = await countEvents();
      if (now !== last) {
        last = now;
        lastChange = Date.now();
        process.stderr.write(`\r${now} events projected   `);
      } else if (Date.now() - lastChange >= idleMs) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    process.stderr.write('\n');
  } finally {
    await replay.stop();
  }
  const [details] = await database.db.execute<{ n: number }>(
    sql`select count(*)::int as n from reservation_details`,
  );
  console.error(`rebuilt: ${await countEvents()} events, ${details?.n ?? 0} reservations`);
} finally {
  await database.close();
}
