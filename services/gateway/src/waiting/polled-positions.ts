// Position polls answered at the edge, for clients that cannot hold a stream. A waiting user's
// arrival number does not change until they are admitted, and the position is that number minus the
// show's progress, which this gateway follows once per show (the same feed as the streams). So the
// number is learnt from the queue's own answer for the verified user (a join or a poll forwarded to
// it) and every later poll is answered here from the progress, without a call. The queue is asked
// again when the progress reaches the number (the pass comes only from the queue, for that user),
// when the feed is not open, and at least every `recheckMs`, so a standing the queue changed (its
// data reset) is not answered from memory for longer than that. A waiting stream opens from a number
// of any age: it asks the queue itself when the progress reaches the number (a user the queue no
// longer knows then gets `left`), and a join again through the gateway teaches the new number.
import { type AdmissionProgress, waitingViewOf } from '../domain/waiting-position.ts';

/** What the queue answers for a waiting user (its `Waiting` schema), computed here. */
export interface PolledPosition {
  status: 'waiting';
  position: number;
  number: number;
}

export interface PolledPositionsOptions {
  /** The show's progress while its feed is open (`ProgressFeeds.follow`). */
  progressOf: (showId: string) => AdmissionProgress | undefined;
  /** How long a learnt number is used before the queue is asked again. */
  recheckMs: number;
  /** Bound on the numbers remembered; the oldest learnt goes first. */
  maxEntries: number;
  now?: () => number;
}

export function createPolledPositions(options: PolledPositionsOptions) {
  const now = options.now ?? Date.now;
  /** `${showId} ${userId}` → the user's arrival number and when the queue said it. */
  const numbers = new Map<string, { number: number; learntAt: number }>();
  const keyOf = (showId: string, userId: string) => `${showId} ${userId}`;
  let answered = 0;
  let forwarded = 0;

  return {
    /**
     * The user's position from the progress, or undefined when the queue must answer. A number
     * learnt more than `maxAgeMs` ago (default `recheckMs`) is asked again; a stream that asks the
     * queue itself once the progress reaches the number opens from a number of any age.
     */
    answer(showId: string, userId: string, maxAgeMs = options.recheckMs): PolledPosition | undefined {
      const progress = options.progressOf(showId);
      const known = numbers.get(keyOf(showId, userId));
      if (!progress || !known || now() - known.learntAt >= maxAgeMs) {
        forwarded++;
        return undefined;
      }
      const view = waitingViewOf(known.number, progress);
      if (view === 'served') {
        forwarded++;
        return undefined;
      }
      answered++;
      return { status: 'waiting', position: view.position, number: view.number };
    },

    /** What the queue answered for this user (a join or a position): a waiting number is remembered. */
    learn(showId: string, userId: string, status: number, body: unknown): void {
      const key = keyOf(showId, userId);
      const standing = body as { status?: unknown; number?: unknown } | undefined;
      if (status !== 200 || standing?.status !== 'waiting' || !Number.isSafeInteger(standing.number)) {
        numbers.delete(key);
        return;
      }
      numbers.delete(key);
      if (numbers.size >= options.maxEntries) numbers.delete(numbers.keys().next().value!);
      numbers.set(key, { number: standing.number as number, learntAt: now() });
    },

    /** Polls answered here and polls the queue answered, so far. */
    stats: () => ({ answered, forwarded, remembered: numbers.size }),
  };
}

export type PolledPositions = ReturnType<typeof createPolledPositions>;
