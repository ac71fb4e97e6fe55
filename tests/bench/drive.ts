// The flash-sale load and the way its completion is observed, the same for every system the bench
// drives (ReserveX per strategy, the no-op chain): a warm-up, one booking alone (unloaded latency),
// then N buyers racing for M tickets with C requests in flight, each booking polled in the read side
// until CONFIRMED or CANCELLED; CPU per process sampled from /proc over the crowd's window; the
// invariants (no oversell, stock balanced) checked at the end.
import { randomUUID } from 'node:crypto';
import { cpuBetween, sampleCpu } from './chain/cpu.ts';
import { confirmedPerSecond, median, percentile } from './chain/figures.ts';

/** Names a process shown with a system's CPU but not counted in it (a stand-in for an outside service). */
export const OUTSIDE = 'outside: ';

export type Show = { showId: string; ticketTypeId?: string };
export type Stock = { capacity: number; available: number; held: number; sold: number };
export type Settled = { status: 'CONFIRMED' | 'CANCELLED'; reason: string | null };

/** A system under load, started: what the driver needs of it. */
export interface Running {
  createShow(title: string, capacity: number): Promise<Show>;
  /** Places a booking; its reservation id, or why it was refused. */
  book(userId: string, show: Show): Promise<{ id: string } | { error: string }>;
  /** The booking as the read side shows it: settled, or not yet. */
  settled(userId: string, reservationId: string): Promise<Settled | undefined>;
  stock(show: Show): Promise<Stock | undefined>;
  /**
   * The processes whose CPU is the system's: apps, sidecars, Kafka, Postgres, Redis, Jaeger; one named
   * with the OUTSIDE prefix is shown but not counted.
   */
  processes(): Record<string, number | undefined>;
  stop(): Promise<void>;
}

export type Load = { buyers: number; tickets: number; concurrency: number; settleTimeoutMs: number };

type Buyer = {
  userId: string;
  reservationId?: string;
  requestedAt: number;
  settledAt?: number;
  status?: 'CONFIRMED' | 'CANCELLED';
  reason?: string | null;
  error?: string;
};

export type RoundResult = {
  system: string;
  round: number;
  confirmed: number;
  cancelled: Record<string, number>;
  unsettled: number;
  rejected: number;
  firstError: string | undefined;
  durationS: number;
  confirmedPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  /** One booking alone, after the warm-up: request → CONFIRMED seen (median of three). */
  unloaded: number;
  /** CPU ms over the crowd's window, per process (with its children). */
  cpuMs: Record<string, number>;
  /** All CPU of the system's processes / sagas settled. */
  cpuPerSaga: number;
  stock: Stock;
  oversell: number;
  balanced: boolean;
  /** Seconds from the first request to each CONFIRMED seen. */
  confirmedAtS: number[];
  /** The crowd's window, epoch ms (for the traces). */
  window: { from: number; to: number };
  show: Show;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Polls the read side until every placed booking is settled or the deadline passes. */
async function settle(
  system: Running,
  crowd: Buyer[],
  deadline: number,
  options: { label: string; pollMs: number; print: (line: string) => void },
) {
  let pending = crowd.filter((b) => b.reservationId);
  let shown = -1;
  while (pending.length > 0 && Date.now() < deadline) {
    await pool(pending, 16, async (buyer) => {
      const settled = await system.settled(buyer.userId, buyer.reservationId!);
      if (settled) {
        buyer.settledAt = performance.now();
        buyer.status = settled.status;
        buyer.reason = settled.reason;
      }
    });
    pending = pending.filter((b) => !b.status);
    const done = crowd.length - pending.length;
    if (crowd.length > 10 && done !== shown && (done - shown >= crowd.length / 10 || pending.length === 0)) {
      options.print(`[bench] ${options.label}: ${done} settled, ${pending.length} pending`);
      shown = done;
    }
    if (pending.length > 0) await sleep(options.pollMs);
  }
}

async function book(system: Running, buyer: Buyer, show: Show) {
  buyer.requestedAt = performance.now();
  try {
    const placed = await system.book(buyer.userId, show);
    if ('id' in placed) buyer.reservationId = placed.id;
    else buyer.error = placed.error;
  } catch (error) {
    buyer.error = String(error);
  }
}

const buyersOf = (label: string, count: number): Buyer[] =>
  Array.from({ length: count }, (_, i) => ({
    userId: `${label}-${i}-${randomUUID().slice(0, 8)}`,
    requestedAt: 0,
  }));

/** One round of the flash sale on a started system. */
export async function driveRound(
  system: Running,
  label: { system: string; round: number; tag: string },
  load: Load,
  print: (line: string) => void,
): Promise<RoundResult> {
  const name = `${label.system} #${label.round}`;
  // Warm-up: consumer groups join, topics and connection pools get made before the clock runs.
  const warm = buyersOf(`warm-${label.tag}`, 5);
  const warmShow = await system.createShow(`Warm-up (${name})`, 5);
  await pool(warm, 5, (buyer) => book(system, buyer, warmShow));
  await settle(system, warm, Date.now() + 120_000, { label: `${name} warm-up`, pollMs: 100, print });

  // One booking at a time, nothing else running: the saga's latency unloaded.
  const alone = buyersOf(`alone-${label.tag}`, 3);
  const aloneShow = await system.createShow(`Unloaded (${name})`, 3);
  for (const buyer of alone) {
    await book(system, buyer, aloneShow);
    await settle(system, [buyer], Date.now() + 60_000, { label: name, pollMs: 20, print });
  }
  const unloaded = median(
    alone.filter((b) => b.status === 'CONFIRMED').map((b) => b.settledAt! - b.requestedAt),
  );

  const show = await system.createShow(`Flash sale (${name})`, load.tickets);
  const crowd = buyersOf(`bench-${label.tag}`, load.buyers);
  print(`[bench] ${name}: ${load.buyers} buyers for ${load.tickets} tickets, ${load.concurrency} at a time`);
  const processes = system.processes();
  const cpuBefore = sampleCpu(processes);
  const from = Date.now();
  const started = performance.now();
  const deadline = Date.now() + load.settleTimeoutMs;
  await pool(crowd, load.concurrency, (buyer) => book(system, buyer, show));
  print(
    `[bench] ${name}: ${crowd.filter((b) => b.reservationId).length} placed in ${((performance.now() - started) / 1000).toFixed(1)} s; waiting for the sagas`,
  );
  await settle(system, crowd, deadline, { label: name, pollMs: 100, print });
  const cpuMs = cpuBetween(cpuBefore, sampleCpu(processes));
  const to = Date.now();

  const confirmed = crowd.filter((b) => b.status === 'CONFIRMED');
  const cancelled: Record<string, number> = {};
  for (const b of crowd.filter((x) => x.status === 'CANCELLED'))
    cancelled[b.reason ?? 'UNKNOWN'] = (cancelled[b.reason ?? 'UNKNOWN'] ?? 0) + 1;
  const latencies = confirmed.map((b) => b.settledAt! - b.requestedAt).sort((a, b) => a - b);
  const confirmedAt = confirmed.map((b) => b.settledAt!);

  // Inventory turns a hold into sold on reservation.confirmed, a moment after the read side shows it.
  let stock: Stock | undefined;
  for (let attempt = 0; attempt < 60; attempt++) {
    stock = await system.stock(show);
    if (stock?.held === 0) break;
    await sleep(500);
  }
  const s = stock ?? { capacity: Number.NaN, available: Number.NaN, held: Number.NaN, sold: Number.NaN };
  const settledCount = crowd.filter((b) => b.status).length;
  const totalCpu = Object.entries(cpuMs)
    .filter(([name]) => !name.startsWith(OUTSIDE))
    .reduce((sum, [, ms]) => sum + ms, 0);
  const result: RoundResult = {
    system: label.system,
    round: label.round,
    confirmed: confirmed.length,
    cancelled,
    unsettled: crowd.filter((b) => b.reservationId && !b.status).length,
    rejected: crowd.filter((b) => b.error).length,
    firstError: crowd.find((b) => b.error)?.error,
    durationS: confirmed.length > 0 ? (Math.max(...confirmedAt) - started) / 1000 : Number.NaN,
    confirmedPerSecond: confirmedPerSecond(started, confirmedAt),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    unloaded,
    cpuMs,
    cpuPerSaga: settledCount > 0 ? totalCpu / settledCount : Number.NaN,
    stock: s,
    balanced: s.capacity === s.available + s.held + s.sold,
    oversell: Math.max(0, confirmed.length - load.tickets, s.sold - s.capacity),
    confirmedAtS: confirmedAt.map((t) => (t - started) / 1000),
    window: { from, to },
    show,
  };
  if (result.firstError)
    print(`[bench] ${name}: ${result.rejected} requests refused, e.g. ${result.firstError}`);
  const { confirmedAtS: _, cpuMs: __, ...brief } = result;
  print(`[bench] ${name}: ${JSON.stringify(brief)}`);
  return result;
}
