import { describe, expect, it } from 'vitest';
import { brokerProperties, clusterId, lastStart, TOPIC_PARTITIONS } from './kafka.ts';

function parseProperties(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
}

describe('brokerProperties', () => {
  const props = parseProperties(brokerProperties('/run/kafka', { broker: 29092, controller: 29093 }));

  it('is one KRaft node, controller and broker, on loopback only', () => {
    expect(props['process.roles']).toBe('broker,controller');
    expect(props.listeners).toBe('PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093');
    expect(props['controller.quorum.voters']).toBe('1@127.0.0.1:29093');
    expect(props['log.dirs']).toBe('/run/kafka/data');
  });

  it('creates topics on first use with a few partitions, internal topics with one replica', () => {
    expect(props['auto.create.topics.enable']).toBe('true');
    expect(Number(props['num.partitions'])).toBe(TOPIC_PARTITIONS);
    expect(props['offsets.topic.replication.factor']).toBe('1');
    expect(props['group.initial.rebalance.delay.ms']).toBe('0');
  });
});

describe('clusterId', () => {
  it('is 16 random bytes in base64url, as the storage tool expects', () => {
    const id = clusterId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    expect(clusterId()).not.toBe(id);
  });

  it('never starts with a dash, which the storage tool would take for an option', () => {
    // One id in 64 would; 2,000 draws miss that with probability below 1e-13.
    const ids = Array.from({ length: 2000 }, clusterId);
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
  });
});

describe('lastStart', () => {
  it('reads readiness from the latest incarnation of a restarted broker', () => {
    const first = '[x] INFO Kafka Server started (kafka.server.KafkaRaftServer)\n';
    const marker = '\n----- restart of kafka at 2026-01-01T00:00:00.000Z -----\n';
    expect(lastStart(first)).toBe(true);
    expect(lastStart(first + marker)).toBe(false);
    expect(lastStart(first + marker + first)).toBe(true);
  });
});
