// Provisioning: everything the local stack runs, found on the machine or put into the cache. Cheap
// when everything is there (a few file checks, no lock); otherwise one provisioner at a time does the
// work under a lock while concurrent callers wait for it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaClassArchive, kafkaPrepared, kafkaStorageTemplate, prepareKafka } from '../infra/kafka.ts';
import { cacheDir } from '../paths.ts';
import { elapsed, say } from '../progress.ts';
import { findDaprd, findSentry, provisionDaprd, provisionSentry } from './daprd.ts';
import { findJaeger, provisionJaeger } from './jaeger.ts';
import { findKafkaLibs, javaBinary, provisionKafka } from './kafka.ts';
import { withFileLock } from './lock.ts';
import { findPostgresBin, findRedisServer, missingPackages, provisionPackages } from './packages.ts';

export interface Toolchain {
  daprd: string;
  /** Dapr's certificate authority: the sidecars' mTLS identities. */
  sentry: string;
  jaeger: string;
  java: string;
  /** Directory of the Kafka broker jars (class path `<dir>/*`). */
  kafkaLibs: string;
  /** Formatted Kafka storage each run copies. */
  kafkaStorage: string;
  /** The broker's class-data-sharing archive. */
  kafkaClasses: string;
  /** Directory holding `initdb` and `postgres`. */
  postgresBin: string;
  redisServer: string;
}

function found(cache: string): Toolchain | undefined {
  const java = javaBinary();
  const kafkaLibs = findKafkaLibs(cache);
  const prepared = java && kafkaLibs && kafkaPrepared({ java, kafkaLibs });
  const toolchain = {
    daprd: findDaprd(cache),
    sentry: findSentry(cache),
    jaeger: findJaeger(cache),
    java,
    kafkaLibs,
    kafkaStorage: prepared ? kafkaStorageTemplate(kafkaLibs) : undefined,
    kafkaClasses: prepared ? kafkaClassArchive(kafkaLibs, java) : undefined,
    postgresBin: findPostgresBin(),
    redisServer: findRedisServer(),
  };
  const complete = Object.values(toolchain).every((v) => v !== undefined);
  return complete ? (toolchain as Toolchain) : undefined;
}

export async function provision(): Promise<Toolchain> {
  const cache = cacheDir();
  const ready = found(cache);
  if (ready) return ready;
  mkdirSync(join(cache, 'logs'), { recursive: true });
  return withFileLock(join(cache, 'provision.lock'), 45 * 60_000, async () => {
    const started = performance.now();
    say(`provisioning into ${cache}`);
    // The first failure stops the other steps: nothing keeps building for a run that has failed.
    const abort = new AbortController();
    const step = <T>(work: Promise<T>) =>
      work.catch((error: unknown) => {
        abort.abort();
        throw error;
      });
    // Packages first for Kafka (Maven and the JVM may be among them); the Go builds overlap with it.
    const builds = Promise.all([
      step(provisionDaprd(cache, abort.signal).then(() => provisionSentry(cache, abort.signal))),
      step(provisionJaeger(cache, abort.signal)),
    ]);
    builds.catch(() => {});
    const kafka = step(
      (async () => {
        if (missingPackages().length > 0) await provisionPackages(cache, abort.signal);
        const kafkaLibs = await provisionKafka(cache, abort.signal);
        const java = javaBinary();
        if (!java) throw new Error('a JVM is needed to run Kafka (apt-get install openjdk-17-jre-headless)');
        return prepareKafka({ java, kafkaLibs }, join(cache, 'logs'), abort.signal);
      })(),
    );
    await Promise.all([builds, kafka]);
    const toolchain = found(cache);
    if (!toolchain) throw new Error('provisioning finished but something is still missing');
    say(`provisioned in ${elapsed(started)}`);
    return toolchain;
  });
}

export { DAPR_VERSION } from './daprd.ts';
export { JAEGER_VERSION } from './jaeger.ts';
