// A single-node Kafka (KRaft: one process is controller and broker) in the run directory.
//
// Topics are created on first use (auto-create, 3 partitions) rather than up front: the saga topics
// appear when a service subscribes or publishes, and tests publish to throw-away topics of their own
// without an admin step. Three partitions keep per-reservation ordering (partition key) meaningful
// while costing little on a small machine; the Helm chart declares each topic explicitly instead.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Restartable, restartable } from '../control.ts';
import { runCommand } from '../provision/command.ts';
import { tcpOpen, waitUntil } from '../readiness.ts';
import type { Run } from '../run.ts';

export const TOPIC_PARTITIONS = 3;

export interface KafkaInfo {
  /** Bootstrap servers, host:port. */
  brokers: string;
  port: number;
}

export function brokerProperties(dir: string, ports: { broker: number; controller: number }): string {
  const settings: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.bootstrap.servers': `127.0.0.1:${ports.controller}`,
    listeners: `PLAINTEXT://127.0.0.1:${ports.broker},CONTROLLER://127.0.0.1:${ports.controller}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${ports.broker},CONTROLLER://127.0.0.1:${ports.controller}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'auto.create.topics.enable': true,
    'num.partitions': TOPIC_PARTITIONS,
    // One node: every internal topic has a single replica.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // A consumer group forms at once instead of waiting 3 s for more members.
    'group.initial.rebalance.delay.ms': 0,
    'log.retention.hours': 24,
  };
  return `${Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

const LOG4J = `rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.started.name=kafka.server.KafkaRaftServer
logger.started.level=INFO
`;

/** True when the log's last incarnation (after the last restart marker) reports the server started. */
export function lastStart(log: string): boolean {
  const since = log.lastIndexOf('----- restart of');
  return log.slice(Math.max(since, 0)).includes('Kafka Server started');
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding (what `random-uuid` prints). Like
 * Kafka's own generator it never starts with '-', which StorageTool's argument parser would read
 * as an option (1 id in 64 otherwise).
 */
export function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export async function startKafka(
  run: Run,
  tools: { java: string; kafkaLibs: string },
  ports: { broker: number; controller: number },
): Promise<{ info: KafkaInfo; process: Restartable }> {
  const dir = join(run.dir, 'kafka');
  mkdirSync(dir, { recursive: true });
  const properties = join(dir, 'server.properties');
  writeFileSync(properties, brokerProperties(dir, ports));
  writeFileSync(join(dir, 'log4j2.properties'), LOG4J);
  const jvm = [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
    '-cp',
    `${tools.kafkaLibs}/*`,
  ];
  await runCommand(
    tools.java,
    [...jvm, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId(), '-c', properties],
    { logFile: join(run.logsDir, 'kafka-format.log'), timeoutMs: 120_000 },
  );
  const process = restartable(run, {
    spec: { name: 'kafka', command: tools.java, args: [...jvm, 'kafka.Kafka', properties] },
    // The broker listens before it serves; "Kafka Server started" is logged once it does. A restart
    // appends to the same log, so only what follows the last restart marker counts.
    ready: (started) =>
      waitUntil(
        'kafka',
        async () => lastStart(readFileSync(started.logFile, 'utf8')) && (await tcpOpen(ports.broker)),
        {
          timeoutMs: 90_000,
          process: started,
          intervalMs: 250,
        },
      ),
  });
  await process.start();
  return { info: { brokers: `127.0.0.1:${ports.broker}`, port: ports.broker }, process };
}
