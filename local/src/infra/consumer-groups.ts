// Consumer groups that begin at the end of every topic, for the stacks that share one broker. Each
// stack's sidecars consume in groups of their own (see `stackConsumerGroup`): a group named after the
// app id alone would hand a new stack whatever an earlier one left unconsumed. A brand-new group
// reads from the oldest offset (the components' `initialOffset`, so that nothing published before a
// consumer joins is missed), which for a later stack would be everything the run has published; so
// before its sidecars start, the stack's groups are committed at the current end of every topic.
// Topics that appear later are read from their beginning, as the components say.
//
// Dapr has no API for this and the services have no Kafka client (nor should the harness carry one
// for three requests): the broker's own protocol, in the oldest versions Kafka 4 still serves, which
// are fixed-layout (no tagged fields).
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** `{appID}` is filled in by each sidecar: one group per app of the stack, like the chart's per app id. */
export function stackConsumerGroup(stack: string): string {
  return `{appID}.${stack}`;
}

/** The group `stackConsumerGroup(stack)` becomes for `appId`. */
export function consumerGroupOf(appId: string, stack: string): string {
  return stackConsumerGroup(stack).replace('{appID}', appId);
}

const API = { listOffsets: 2, metadata: 3, offsetCommit: 8, findCoordinator: 10 } as const;
// Ask again: a partition of a topic just created has no leader yet (3, 5, 6), or the group
// coordinator is still loading, moving, or its topic is being created (14, 15, 16).
const RETRIABLE = new Set([3, 5, 6, 14, 15, 16]);

/** A consumer group and the topics it may read (undefined: any). */
export type GroupToStart = { group: string; topics?: readonly string[] | undefined };

/**
 * Commits each group at the current end of every partition of the topics it may read that the
 * broker has (internal ones aside). A group that does not exist yet is created empty.
 */
export async function startGroupsAtEnd(brokers: string, groups: readonly GroupToStart[]): Promise<void> {
  const wanted = groups.filter((g) => g.topics === undefined || g.topics.length > 0);
  if (wanted.length === 0) return;
  const broker = await Broker.connect(brokers);
  try {
    const topics = await broker.partitions();
    if (topics.size === 0) return;
    let ends: Offsets = new Map();
    await retrying(async () => {
      const answer = await broker.endOffsets(topics);
      ends = answer.ends;
      return answer.error;
    });
    for (const { group, topics: readable } of wanted) {
      const offsets = readable ? new Map([...ends].filter(([topic]) => readable.includes(topic))) : ends;
      if (offsets.size > 0) await retrying(() => broker.commit(group, offsets));
    }
  } finally {
    broker.close();
  }
}

async function retrying(attempt: () => Promise<number>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const code = await attempt();
    if (code === 0) return;
    if (!RETRIABLE.has(code) || Date.now() > deadline) throw new Error(`Kafka answered error code ${code}`);
    await sleep(200);
  }
}

type Offsets = Map<string, Map<number, bigint>>;

class Broker {
  private pending = new Map<number, { resolve: (body: Reader) => void; reject: (error: Error) => void }>();
  private buffered = Buffer.alloc(0);
  private correlation = 0;

  private readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk) => this.receive(chunk));
  }

  static connect(brokers: string): Promise<Broker> {
    const [host, port] = (brokers.split(',')[0] ?? '').split(':');
    return new Promise((resolve, reject) => {
      const socket = connect({ host: host ?? '127.0.0.1', port: Number(port) });
      // A broker that stops answering fails the step instead of holding the stack's start.
      socket.setTimeout(15_000, () => socket.destroy(new Error(`Kafka at ${brokers} did not answer`)));
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const broker = new Broker(socket);
        socket.on('error', (error) => broker.fail(error));
        socket.on('close', () => broker.fail(new Error(`the Kafka connection to ${brokers} closed`)));
        resolve(broker);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** Metadata v1 for all topics: each topic's partition numbers. */
  async partitions(): Promise<Map<string, number[]>> {
    const body = await this.request(API.metadata, 1, new Writer().int32(-1));
    body.array(() => {
      body.int32();
      body.string();
      body.int32();
      body.nullableString();
    });
    body.int32();
    const topics = new Map<string, number[]>();
    body.array(() => {
      const error = body.int16();
      const name = body.string();
      const internal = body.int8() !== 0;
      const partitions = body.array(() => {
        body.int16();
        const index = body.int32();
        body.int32();
        body.array(() => body.int32());
        body.array(() => body.int32());
        return index;
      });
      if (error === 0 && !internal) topics.set(name, partitions);
    });
    return topics;
  }

  /** ListOffsets v1 at the latest timestamp: where each partition ends now, and the first error. */
  async endOffsets(topics: Map<string, number[]>): Promise<{ ends: Offsets; error: number }> {
    const request = new Writer()
      .int32(-1)
      .array([...topics], (w, [name, partitions]) =>
        w.string(name).array(partitions, (p, index) => p.int32(index).int64(-1n)),
      );
    const body = await this.request(API.listOffsets, 1, request);
    const ends: Offsets = new Map();
    let first = 0;
    body.array(() => {
      const name = body.string();
      const partitions = new Map<number, bigint>();
      body.array(() => {
        const index = body.int32();
        const error = body.int16();
        body.int64();
        const offset = body.int64();
        if (error !== 0 && first === 0) first = error;
        partitions.set(index, offset);
      });
      ends.set(name, partitions);
    });
    return { ends, error: first };
  }

  /** FindCoordinator v1 (which also creates the offsets topic on first use), then OffsetCommit v2. */
  async commit(group: string, offsets: Offsets): Promise<number> {
    const found = await this.request(API.findCoordinator, 1, new Writer().string(group).int8(0));
    found.int32();
    const coordinator = found.int16();
    if (coordinator !== 0) return coordinator;
    const request = new Writer()
      .string(group)
      .int32(-1)
      .string('')
      .int64(-1n)
      .array([...offsets], (w, [name, partitions]) =>
        w.string(name).array([...partitions], (p, [index, offset]) => p.int32(index).int64(offset).int16(-1)),
      );
    const body = await this.request(API.offsetCommit, 2, request);
    let first = 0;
    body.array(() => {
      body.string();
      body.array(() => {
        body.int32();
        const error = body.int16();
        if (first === 0) first = error;
      });
    });
    return first;
  }

  private request(apiKey: number, version: number, body: Writer): Promise<Reader> {
    const correlation = ++this.correlation;
    const header = new Writer().int16(apiKey).int16(version).int32(correlation).string('reservex-local');
    const payload = Buffer.concat([header.buffer(), body.buffer()]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    return new Promise<Reader>((resolve, reject) => {
      this.pending.set(correlation, { resolve, reject });
      this.socket.write(Buffer.concat([size, payload]));
    });
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const reader = new Reader(this.buffered.subarray(4, 4 + size));
      this.buffered = this.buffered.subarray(4 + size);
      const correlation = reader.int32();
      this.pending.get(correlation)?.resolve(reader);
      this.pending.delete(correlation);
    }
  }

  private fail(error: Error): void {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

class Writer {
  private parts: Buffer[] = [];

  private put(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.alloc(size);
    write(b);
    this.parts.push(b);
    return this;
  }
  int8 = (v: number) => this.put(1, (b) => b.writeInt8(v));
  int16 = (v: number) => this.put(2, (b) => b.writeInt16BE(v));
  int32 = (v: number) => this.put(4, (b) => b.writeInt32BE(v));
  int64 = (v: bigint) => this.put(8, (b) => b.writeBigInt64BE(v));
  string(v: string): this {
    const bytes = Buffer.from(v, 'utf8');
    this.int16(bytes.length);
    this.parts.push(bytes);
    return this;
  }
  array<T>(items: readonly T[], each: (w: this, item: T) => unknown): this {
    this.int32(items.length);
    for (const item of items) each(this, item);
    return this;
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private at = 0;

  private readonly bytes: Buffer;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  private take(size: number): number {
    const at = this.at;
    this.at += size;
    return at;
  }
  int8 = () => this.bytes.readInt8(this.take(1));
  int16 = () => this.bytes.readInt16BE(this.take(2));
  int32 = () => this.bytes.readInt32BE(this.take(4));
  int64 = () => this.bytes.readBigInt64BE(this.take(8));
  string(): string {
    const length = this.int16();
    const at = this.take(length);
    return this.bytes.toString('utf8', at, at + length);
  }
  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const at = this.take(length);
    return this.bytes.toString('utf8', at, at + length);
  }
  array<T>(each: () => T): T[] {
    const length = this.int32();
    return Array.from({ length: Math.max(length, 0) }, each);
  }
}
