import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAdmission, encodeAdmission, sameStanding, standingOf } from './admission.ts';

const admission = {
  number: 3,
  jti: '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10',
  admittedAtMs: 1000,
  passExpiresAtMs: 301_000,
};

describe('admission record', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(fc.nat(), fc.uuid(), fc.nat(), fc.nat(), (number, jti, admittedAtMs, passExpiresAtMs) => {
        const record = { number, jti, admittedAtMs, passExpiresAtMs };
        expect(decodeAdmission(encodeAdmission(record))).toEqual(record);
      }),
    );
  });

  it('rejects a damaged record', () => {
    expect(decodeAdmission('1|j|x|3')).toBeUndefined();
    expect(decodeAdmission('1||2|3')).toBeUndefined();
    expect(decodeAdmission('')).toBeUndefined();
  });
});

describe('standingOf', () => {
  it('counts positions from 1', () => {
    expect(standingOf({ rank: 0, number: 7 }, null, 0)).toEqual({
      status: 'waiting',
      position: 1,
      number: 7,
    });
  });

  it('prefers a live admission', () => {
    expect(standingOf(null, encodeAdmission(admission), 2000)).toEqual({ status: 'admitted', admission });
  });

  it('forgets an expired pass', () => {
    expect(standingOf(null, encodeAdmission(admission), 301_000)).toEqual({ status: 'absent' });
  });

  it('tells a stream when something changed', () => {
    const waiting = standingOf({ rank: 4, number: 9 }, null, 0);
    expect(sameStanding(waiting, standingOf({ rank: 4, number: 9 }, null, 0))).toBe(true);
    expect(sameStanding(waiting, standingOf({ rank: 3, number: 9 }, null, 0))).toBe(false);
    expect(sameStanding(undefined, waiting)).toBe(false);
    expect(sameStanding(waiting, { status: 'admitted', admission })).toBe(false);
  });
});
