// A single-node Kafka (KRaft: one process is controller and broker) in the run directory.
//
// Starting it is cheap because the expensive parts are done once per cache (`prepareKafka`, run by
// provisioning): the storage is formatted once into a template that each run copies (the format tool
// is a JVM start of its own), and the broker's classes are kept in a class-data-sharing archive that
// the JVM maps instead of loading and verifying thousands of classes again.
//
// Topics are created on first use (auto-create, 3 partitions) rather than up front: the saga topics
// appear when a service subscribes or publishes, and tests publish to throw-away topics of their own
// without an admin step. Three partitions keep per-reservation ordering (partition key) meaningful
// while costing little on a small machine; the Helm chart declares each topic explicitly instead.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { type Restartable, restartable } from '../control.ts';
import { freePorts } from '../ports.ts';
import { elapsed, say } from '../progress.ts';
import { runCommand } from '../provision/command.ts';
import { tcpOpen, waitUntil } from '../readiness.ts';
import type { Run } from '../run.ts';
import { signalGroup, tailOf } from '../supervisor.ts';

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
    // A static quorum of this one node: its formatted storage then names no address, so a storage
    // formatted once can be copied into every run, whatever ports the run has.
    'controller.quorum.voters': `1@127.0.0.1:${ports.controller}`,
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

/** What starting a broker needs: the JVM, the jars, and what `prepareKafka` made of them. */
export interface KafkaTools {
  java: string;
  kafkaLibs: string;
  /** A formatted storage directory, copied into each run (`kafkaStorageTemplate`). */
  kafkaStorage: string;
  /** The broker's class-data-sharing archive (`kafkaClassArchive`), used when present. */
  kafkaClasses: string;
}

/**
 * How the broker's JVM compiles: `startup` stops at the quick compiler (C1), which brings the broker up
 * with a third of the CPU while apps start beside it on a small machine; `throughput` adds the
 * optimising compiler, for benchmarks, whose figures compare peak rates.
 */
export type BrokerJit = 'startup' | 'throughput';

function jvmArgs(
  tools: Pick<KafkaTools, 'kafkaLibs'>,
  dir: string,
  options: { classArchive?: string | undefined; jit?: BrokerJit } = {},
): string[] {
  return [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-XX:+ExitOnOutOfMemoryError',
    ...(options.jit === 'startup' ? ['-XX:TieredStopAtLevel=1'] : []),
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
    ...(options.classArchive ? [`-XX:SharedArchiveFile=${options.classArchive}`] : []),
    '-cp',
    `${tools.kafkaLibs}/*`,
  ];
}

const hashOf = (...parts: string[]) =>
  createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);

/**
 * The formatted storage of the cache's Kafka, named after everything the format depends on: the jars
 * (their directory is named after their versions) and the format-relevant settings.
 */
export function kafkaStorageTemplate(kafkaLibs: string): string {
  const settings = brokerProperties('/template', { broker: 1, controller: 2 });
  return join(dirname(kafkaLibs), `storage-${hashOf(settings)}`);
}

/**
 * The class-data-sharing archive of the broker's classes: valid only for the JVM and the jars it was
 * dumped from (the JVM checks both and runs without it otherwise), so it is named after both.
 */
export function kafkaClassArchive(kafkaLibs: string, java: string): string {
  const jvm = realpathSync(java);
  const { mtimeMs, size } = statSync(jvm);
  return join(dirname(kafkaLibs), `classes-${hashOf(jvm, String(mtimeMs), String(size))}.jsa`);
}

/** Whether `prepareKafka` has nothing left to do. */
export function kafkaPrepared(tools: { java: string; kafkaLibs: string }): boolean {
  return (
    existsSync(kafkaStorageTemplate(tools.kafkaLibs)) &&
    existsSync(kafkaClassArchive(tools.kafkaLibs, tools.java))
  );
}

/**
 * Formats the storage template and dumps the class archive, each into a temporary name renamed into
 * place when complete. The archive is what the JVM writes when a broker that started and served exits:
 * one broker is started in a scratch directory and stopped.
 */
export async function prepareKafka(
  tools: { java: string; kafkaLibs: string },
  logsDir: string,
  signal?: AbortSignal,
): Promise<KafkaTools> {
  const kafkaStorage = kafkaStorageTemplate(tools.kafkaLibs);
  const kafkaClasses = kafkaClassArchive(tools.kafkaLibs, tools.java);
  const scratch = `${dirname(tools.kafkaLibs)}/prepare-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    if (!existsSync(kafkaStorage)) {
      const started = performance.now();
      const template = join(scratch, 'template');
      const properties = writeConfig(template, { broker: 1, controller: 2 });
      await runCommand(
        tools.java,
        [
          ...jvmArgs(tools, template),
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId(),
          '-c',
          properties,
        ],
        { logFile: join(logsDir, 'kafka-format.log'), timeoutMs: 120_000, ...(signal ? { signal } : {}) },
      );
      rmSync(kafkaStorage, { recursive: true, force: true });
      renameSync(join(template, 'data'), kafkaStorage);
      say(`kafka: storage formatted in ${elapsed(started)} → ${kafkaStorage}`);
    }
    if (!existsSync(kafkaClasses)) {
      const started = performance.now();
      const dir = join(scratch, 'broker');
      const ports = await freePorts(['broker', 'controller'] as const);
      const properties = writeConfig(dir, ports);
      cpSync(kafkaStorage, join(dir, 'data'), { recursive: true });
      const partial = join(scratch, 'classes.jsa');
      const logFile = join(logsDir, 'kafka-class-archive.log');
      const exit = await runUntilStarted(
        tools.java,
        [...jvmArgs(tools, dir), `-XX:ArchiveClassesAtExit=${partial}`, 'kafka.Kafka', properties],
        { logFile, started: (log) => lastStart(log) && tcpOpen(ports.broker), signal },
      );
      if (!existsSync(partial))
        throw new Error(
          `kafka: no class archive after the broker exited (${exit}); log ${logFile}:\n${tailOf(logFile)}`,
        );
      renameSync(partial, kafkaClasses);
      say(`kafka: class archive dumped in ${elapsed(started)} → ${kafkaClasses}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { ...tools, kafkaStorage, kafkaClasses };
}

/** Writes server.properties and the log configuration into `dir`; returns the properties file. */
function writeConfig(dir: string, ports: { broker: number; controller: number }): string {
  mkdirSync(dir, { recursive: true });
  const properties = join(dir, 'server.properties');
  writeFileSync(properties, brokerProperties(dir, ports));
  writeFileSync(join(dir, 'log4j2.properties'), LOG4J);
  return properties;
}

/** Starts a broker, waits until it serves, asks it to stop and waits for it to exit (bounded). */
async function runUntilStarted(
  command: string,
  args: string[],
  options: {
    logFile: string;
    started: (log: string) => Promise<boolean> | boolean;
    signal?: AbortSignal | undefined;
  },
): Promise<string> {
  const log = openLog(options.logFile);
  const child = spawn(command, args, { stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}: see ${options.logFile}`);
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `code ${code}`)),
  );
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  const kill = () => signalGroup(pid, 'SIGKILL');
  options.signal?.addEventListener('abort', kill, { once: true });
  try {
    await waitUntil(
      'kafka (class archive)',
      async () => {
        if (!alive) throw new Error(`the broker exited; log ${options.logFile}:\n${tailOf(options.logFile)}`);
        return options.started(readFileSync(options.logFile, 'utf8'));
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(kill, 60_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    kill();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', kill);
  }
}

function openLog(file: string): number {
  mkdirSync(dirname(file), { recursive: true });
  return openSync(file, 'a');
}

export async function startKafka(
  run: Run,
  tools: KafkaTools,
  ports: { broker: number; controller: number },
  jit: BrokerJit = 'startup',
): Promise<{ info: KafkaInfo; process: Restartable }> {
  const dir = join(run.dir, 'kafka');
  const properties = writeConfig(dir, ports);
  cpSync(tools.kafkaStorage, join(dir, 'data'), { recursive: true });
  const classes = existsSync(tools.kafkaClasses) ? tools.kafkaClasses : undefined;
  const process = restartable(run, {
    spec: {
      name: 'kafka',
      command: tools.java,
      args: [...jvmArgs(tools, dir, { classArchive: classes, jit }), 'kafka.Kafka', properties],
    },
    // The broker listens before it serves; "Kafka Server started" is logged once it does. A restart
    // appends to the same log, so only what follows the last restart marker counts.
    ready: (started) =>
      waitUntil(
        'kafka',
        async () => lastStart(readFileSync(started.logFile, 'utf8')) && (await tcpOpen(ports.broker)),
        {
          timeoutMs: 90_000,
          process: started,
          intervalMs: 100,
        },
      ),
  });
  await process.start();
  return { info: { brokers: `127.0.0.1:${ports.broker}`, port: ports.broker }, process };
}
