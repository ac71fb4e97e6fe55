// The Kafka broker as jars from Maven Central (local/provision/kafka/pom.xml), run with the JVM.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { provisionDir } from '../paths.ts';
import { elapsed, say } from '../progress.ts';
import { isExecutable, onPath, runCommand } from './command.ts';
import { inputsHash } from './inputs.ts';

function cachedDir(cache: string): string {
  return join(cache, `kafka-${inputsHash(join(provisionDir, 'kafka'), ['pom.xml'])}`, 'libs');
}

export function findKafkaLibs(cache: string): string | undefined {
  const dir = cachedDir(cache);
  return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('kafka_2.13-')) ? dir : undefined;
}

export function javaBinary(): string | undefined {
  const home = process.env.JAVA_HOME;
  return [home ? join(home, 'bin', 'java') : undefined, onPath('java')].find(
    (c): c is string => c !== undefined && isExecutable(c),
  );
}

export async function provisionKafka(cache: string, signal?: AbortSignal): Promise<string> {
  const found = findKafkaLibs(cache);
  if (found) return found;
  const mvn = onPath('mvn');
  if (!mvn) throw new Error('mvn is needed to fetch the Kafka jars (apt-get install maven)');
  const target = cachedDir(cache);
  const partial = `${target}.partial`;
  const started = performance.now();
  say('kafka: fetching the broker jars from Maven Central');
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  await runCommand(
    mvn,
    [
      '-q',
      '-B',
      '-f',
      join(provisionDir, 'kafka', 'pom.xml'),
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${partial}`,
    ],
    { logFile: join(cache, 'logs', 'provision-kafka.log'), timeoutMs: 15 * 60_000, signal },
  );
  rmSync(target, { recursive: true, force: true });
  renameSync(partial, target);
  say(`kafka: jars ready in ${elapsed(started)} → ${target}`);
  return target;
}
