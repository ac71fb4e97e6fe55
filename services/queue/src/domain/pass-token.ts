// The pass an admitted user presents to the reservation service (see `@reservex/contracts`' pass):
// its claims follow from the admission record, so any replica can re-derive the same token.
import { PASS_TYPE, type PassClaims } from '@reservex/contracts';

export interface Admission {
  /** 1-based order of admission within the show. */
  number: number;
  jti: string;
  admittedAtMs: number;
  passExpiresAtMs: number;
}

export function passClaimsOf(userId: string, showId: string, admission: Admission): PassClaims {
  return {
    sub: userId,
    show: showId,
    jti: admission.jti,
    iat: Math.floor(admission.admittedAtMs / 1000),
    exp: Math.floor(admission.passExpiresAtMs / 1000),
    typ: PASS_TYPE,
  };
}
