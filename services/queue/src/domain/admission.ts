// An admission as Redis keeps it: one hash field per admitted user, `number|jti|admittedAt|expiresAt`.
// Written by the admission script in the same atomic step that takes the user off the waiting list.
import type { Admission } from './pass-token.ts';

export function encodeAdmission(admission: Admission): string {
  return `${admission.number}|${admission.jti}|${admission.admittedAtMs}|${admission.passExpiresAtMs}`;
}

export function decodeAdmission(text: string): Admission | undefined {
  const [number, jti, admittedAt, expiresAt] = text.split('|');
  const parsed = {
    number: Number(number),
    jti,
    admittedAtMs: Number(admittedAt),
    passExpiresAtMs: Number(expiresAt),
  };
  if (
    !jti ||
    !Number.isSafeInteger(parsed.number) ||
    !Number.isSafeInteger(parsed.admittedAtMs) ||
    !Number.isSafeInteger(parsed.passExpiresAtMs)
  ) {
    return undefined;
  }
  return { ...parsed, jti };
}

/** Where a user stands in one show's waiting room. */
export type Standing =
  | {
      status: 'waiting';
      position: number;
      /** The arrival number: the user is admitted once the show's progress reaches it. */
      number: number;
    }
  | { status: 'admitted'; admission: Admission }
  | { status: 'absent' };

/** Where a waiting user is: their rank in the waiting list (0 = next) and their arrival number. */
export interface Place {
  rank: number;
  number: number;
}

/** Reads the two facts Redis holds about a user into one standing. A pass past its expiry is no admission. */
export function standingOf(place: Place | null, admissionText: string | null, nowMs: number): Standing {
  if (admissionText !== null) {
    const admission = decodeAdmission(admissionText);
    if (admission && admission.passExpiresAtMs > nowMs) return { status: 'admitted', admission };
  }
  if (place !== null) return { status: 'waiting', position: place.rank + 1, number: place.number };
  return { status: 'absent' };
}

/** Two standings a stream should tell apart (a new position or the admission). */
export function sameStanding(a: Standing | undefined, b: Standing): boolean {
  if (!a || a.status !== b.status) return false;
  switch (b.status) {
    case 'waiting':
      return a.status === 'waiting' && a.position === b.position;
    case 'admitted':
      return a.status === 'admitted' && a.admission.jti === b.admission.jti;
    case 'absent':
      return true;
    default: {
      const unreachable: never = b;
      throw new Error(`unknown standing ${JSON.stringify(unreachable)}`);
    }
  }
}
