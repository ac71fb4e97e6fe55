// The stack's consumer groups committed at the end of the topics, against a broker that speaks just
// enough of Kafka's protocol (the versions the client asks for) to answer what a real one does while
// a topic is new: its partitions have no leader for a moment.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startGroupsAtEnd } from './consumer-groups.ts';

const i16 = (v: number) => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
const i32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const i64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
};
const str = (v: string) => Buffer.concat([i16(Buffer.byteLength(v)), Buffer.from(v)]);
const arr = (items: Buffer[]) => Buffer.concat([i32(items.length), ...items]);

interface FakeBroker {
  port: number;
  /** Commits received: group → topic/partition → offset. */
  commits: Map<string, Map<string, bigint>>;
  listOffsetsAsked: () => number;
  close(): Promise<void>;
}

/** One topic `orders` with two partitions ending at 7 and 9; the first `notLeaderFor` ListOffsets answer error 6. */
async function fakeBroker(notLeaderFor: number): Promise<FakeBroker> {
  let listOffsets = 0;
  const commits = new Map<string, Map<string, bigint>>();
  const answer = (apiKey: number, body: Buffer, at: number): Buffer => {
    switch (apiKey) {
      case 3: // Metadata v1
        return Buffer.concat([
          arr([Buffer.concat([i32(1), str('127.0.0.1'), i32(9092), i16(-1)])]),
          i32(1),
          arr([
            Buffer.concat([
              i16(0),
              str('orders'),
              Buffer.from([0]),
              arr([0, 1].map((p) => Buffer.concat([i16(0), i32(p), i32(1), arr([i32(1)]), arr([i32(1)])]))),
            ]),
          ]),
        ]);
      case 2: {
        // ListOffsets v1
        const error = ++listOffsets <= notLeaderFor ? 6 : 0;
        return arr([
          Buffer.concat([
            str('orders'),
            arr([
              Buffer.concat([i32(0), i16(error), i64(-1n), i64(error ? -1n : 7n)]),
              Buffer.concat([i32(1), i16(error), i64(-1n), i64(error ? -1n : 9n)]),
            ]),
          ]),
        ]);
      }
      case 10: // FindCoordinator v1: throttle, no error
        return Buffer.concat([i32(0), i16(0), i16(-1), i32(1), str('127.0.0.1'), i32(9092)]);
      case 8: {
        // OffsetCommit v2: read the group and offsets, answer no error per partition
        let p = at;
        const readStr = () => {
          const n = body.readInt16BE(p);
          p += 2;
          if (n < 0) return undefined;
          const value = body.toString('utf8', p, p + n);
          p += n;
          return value;
        };
        const group = readStr() ?? '';
        p += 4; // generation
        readStr(); // member
        p += 8; // retention
        const offsets = new Map<string, bigint>();
        const topics = body.readInt32BE(p);
        p += 4;
        for (let t = 0; t < topics; t++) {
          const topic = readStr();
          const partitions = body.readInt32BE(p);
          p += 4;
          for (let q = 0; q < partitions; q++) {
            const index = body.readInt32BE(p);
            const offset = body.readBigInt64BE(p + 4);
            p += 12;
            readStr(); // metadata
            offsets.set(`${topic}/${index}`, offset);
          }
        }
        commits.set(group, offsets);
        return arr([Buffer.concat([str('orders'), arr([0, 1].map((q) => Buffer.concat([i32(q), i16(0)])))])]);
      }
      default:
        throw new Error(`unexpected api ${apiKey}`);
    }
  };
  const server: Server = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const size = buffered.readInt32BE(0);
        const request = buffered.subarray(4, 4 + size);
        buffered = buffered.subarray(4 + size);
        const apiKey = request.readInt16BE(0);
        const correlation = request.readInt32BE(4);
        const bodyAt = 8 + 2 + request.readInt16BE(8);
        const payload = Buffer.concat([i32(correlation), answer(apiKey, request, bodyAt)]);
        socket.write(Buffer.concat([i32(payload.length), payload]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return {
    port: address.port,
    commits,
    listOffsetsAsked: () => listOffsets,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let broker: FakeBroker | undefined;
afterEach(async () => {
  await broker?.close();
});

describe('consumer groups started at the end of the topics', () => {
  it('commit each group at the end of every partition', async () => {
    broker = await fakeBroker(0);
    await startGroupsAtEnd(`127.0.0.1:${broker.port}`, [{ group: 'payment.s1' }, { group: 'query.s1' }]);
    for (const group of ['payment.s1', 'query.s1']) {
      expect(broker.commits.get(group)).toEqual(
        new Map([
          ['orders/0', 7n],
          ['orders/1', 9n],
        ]),
      );
    }
  });

  it('ask again while a new topic’s partitions have no leader yet', async () => {
    broker = await fakeBroker(3);
    await startGroupsAtEnd(`127.0.0.1:${broker.port}`, [{ group: 'payment.s2', topics: ['orders'] }]);
    expect(broker.listOffsetsAsked()).toBe(4);
    expect(broker.commits.get('payment.s2')?.get('orders/1')).toBe(9n);
  });
});
