import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './read-model.ts';

const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const id = '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b';

describe('list cursors', () => {
  it('round-trip what the database wrote, to the microsecond', () => {
    const cursor = { sortAt: '2026-11-30 23:41:07.123456+00', reservationId: id };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(decodeCursor(forge(['2026-11-30T23:41:07.123Z', id]))).toBeDefined();
  });

  it('refuse what the database would refuse: forged instants and ids', () => {
    for (const forged of [
      forge(['1', id]),
      forge(['2026-02-30 10:00:00+00', id]),
      forge(['2026-11-30 25:00:00+00', id]),
      forge(['2026-11-30 10:00:00+00\u0000', id]),
      forge(['2026-11-30 10:00:00+00', '-'.repeat(36)]),
      forge(['2026-11-30 10:00:00+00', id, 'extra']),
      forge({ sortAt: '2026-11-30 10:00:00+00', reservationId: id }),
      'garbage',
      '',
    ]) {
      expect(decodeCursor(forged), forged).toBeUndefined();
    }
  });
});
