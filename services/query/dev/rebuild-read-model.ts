// Rebuilding the read model from scratch, through Dapr only:
//
// 1. A second query process runs in QUERY_MODE=rebuild next to its own daprd, whose pub/sub
//    component is the platform's Kafka component with a fresh `consumerGroup` (and
//    `initialOffset: oldest`), so it reads each topic from the beginning; it projects under a fresh
//    inbox consumer name, so no event counts as seen.
// 2. Before subscribing it empties ReservationDetails and the timeline (REBUILD_TRUNCATE). The live
//    query service keeps running meanwhile: the projection is idempotent and order-independent, so
//    both writing the same reservations converge on the same details.
// 3. Once no event has arrived for `idleMs` (Dapr exposes no consumer lag) it shuts its sidecar down
//    and exits by itself (REBUILD_EXIT_IDLE_MS).
//
// This file runs it on the local stack (`@reservex/local`), for `npm run rebuild` and the tests; it is
// not part of the image. On Kubernetes the same process is a Job (charts/reservex, `queryRebuild`)
// running the image's entry point in rebuild mode, whose app-id gives it a fresh consumer group.
// Kafka's retention bounds what can be replayed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  databaseUrl,
  eventKeyEnv,
  type InfraInfo,
  KAFKA_PROTOCOL_VERSION,
  MAX_MESSAGE_BYTES,
  startApps,
} from '@reservex/local';
import { createDatabase } from '@reservex/platform/db';
import { sql } from 'drizzle-orm';
import { stringify } from 'yaml';
import { reservationDetails, schema, timelineEvents } from '../src/db/schema.ts';

export type RebuildOptions = {
  infra: InfraInfo;
  /** The query service's database name. */
  database: string;
  idleMs: number;
  maxMs: number;
  onProgress?: (eventsProjected: number) => void;
};

export type RebuildResult = {
  consumerGroup: string;
  events: number;
  reservations: number;
  /** The rebuild process saw the replay go quiet and stopped itself and its sidecar within maxMs. */
  finishedByItself: boolean;
};

/** A Kafka pub/sub component of its own, reading as a brand-new consumer group from the oldest offset. */
function rebuildComponent(infra: InfraInfo, stamp: string, consumerGroup: string): string {
  const dir = join(infra.runDir, `query-rebuild-${stamp}`, 'resources');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'component-pubsub-rebuild.yaml'),
    stringify({
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'pubsub-rebuild' },
      spec: {
        type: 'pubsub.kafka',
        version: 'v1',
        metadata: [
          { name: 'brokers', value: infra.kafka.brokers },
          { name: 'authType', value: 'none' },
          { name: 'version', value: KAFKA_PROTOCOL_VERSION },
          { name: 'maxMessageBytes', value: String(MAX_MESSAGE_BYTES) },
          { name: 'consumerGroup', value: consumerGroup },
          { name: 'initialOffset', value: 'oldest' },
        ],
      },
    }),
  );
  return dir;
}

export async function rebuildReadModel(options: RebuildOptions): Promise<RebuildResult> {
  const stamp = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${process.pid}`;
  const consumerGroup = `query-rebuild-${stamp}`;
  const component = rebuildComponent(options.infra, stamp, consumerGroup);
  const database = createDatabase(databaseUrl(options.infra.postgres, options.database), schema, { max: 2 });
  const count = async (table: typeof timelineEvents | typeof reservationDetails) => {
    const [row] = await database.db.select({ n: sql<number>`count(*)::int` }).from(table);
    return row!.n;
  };
  try {
    const replay = await startApps({
      // query-rebuild is not one of the services: its sidecar reads the unscoped resources, and the
      // fresh consumer group's component next to them.
      infra: options.infra,
      resources: [component],
      apps: [
        {
          appId: 'query-rebuild',
          args: ['services/query/src/main.ts'],
          database: options.database,
          env: {
            // It verifies what it replays as query does.
            ...eventKeyEnv(options.infra.runDir, 'query'),
            QUERY_MODE: 'rebuild',
            PUBSUB_NAME: 'pubsub-rebuild',
            PROJECTION_CONSUMER: `query.rebuild.${stamp}`,
            REBUILD_TRUNCATE: 'true',
            REBUILD_EXIT_IDLE_MS: String(options.idleMs),
            LOG_LEVEL: 'warn',
          },
          readyTimeoutMs: 120_000,
        },
      ],
    });
    const rebuilder = replay.apps['query-rebuild'];
    let finishedByItself = false;
    try {
      const started = Date.now();
      let last = -1;
      while (Date.now() - started < options.maxMs) {
        const now = await count(timelineEvents);
        if (now !== last) {
          last = now;
          options.onProgress?.(now);
        }
        if (!rebuilder.running() && !rebuilder.sidecar?.running()) {
          finishedByItself = true;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      await replay.stop();
    }
    return {
      consumerGroup,
      events: await count(timelineEvents),
      reservations: await count(reservationDetails),
      finishedByItself,
    };
  } finally {
    await database.close();
  }
}
