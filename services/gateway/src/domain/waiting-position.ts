// A waiting user's place, computed at the edge from the show's admission progress (which the queue
// sends once per show, not once per user): the position is the user's arrival number minus the
// highest number admitted so far, because admission takes the waiting list from its head.
import type { AppId } from '@reservex/contracts';
import { z } from 'zod';

/** The route of the owner the gateway follows a show's progress on, once per show (not per user). */
export const admissionProgressRoute = {
  owner: 'queue' satisfies AppId,
  method: 'GET',
  path: '/v1/queue/{showId}/progress',
} as const;

/** The upstream path of one show's progress. */
export function admissionProgressPath(showId: string): string {
  return admissionProgressRoute.path.replace('{showId}', encodeURIComponent(showId));
}

export const AdmissionProgress = z.object({
  servedUpTo: z.number().int().nonnegative(),
  waiting: z.number().int().nonnegative(),
  ratePerSecond: z.number().nonnegative(),
});
export type AdmissionProgress = z.infer<typeof AdmissionProgress>;

/** The progress an upstream event carries, or undefined when it is not one. */
export function progressFrom(data: string): AdmissionProgress | undefined {
  try {
    const parsed = AdmissionProgress.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export interface WaitingView {
  status: 'waiting';
  position: number;
  number: number;
  /** Position over the measured admission rate; absent while nobody is being admitted. */
  estimatedWaitSeconds?: number;
}

/** Where the holder of `number` stands, or `served` once the progress has reached it. */
export function waitingViewOf(number: number, progress: AdmissionProgress): WaitingView | 'served' {
  const position = number - progress.servedUpTo;
  if (position <= 0) return 'served';
  return {
    status: 'waiting',
    position,
    number,
    ...(progress.ratePerSecond > 0
      ? { estimatedWaitSeconds: Math.ceil(position / progress.ratePerSecond) }
      : {}),
  };
}

/**
 * The id of a position event: the user's number and the progress it was computed from. A client
 * that reconnects sends it back as Last-Event-ID and is not told again what it already knows. It
 * carries no authority: the user's number and pass always come from the queue for the verified user.
 */
export function positionEventId(number: number, servedUpTo: number): string {
  return `${number}.${servedUpTo}`;
}
