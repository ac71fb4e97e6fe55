// A flash sale under fire: the whole system on the real local stack, buyers through the gateway and
// the waiting room, and a seeded schedule of faults — services and sidecars killed and restarted by
// the supervisor, Kafka, Redis and Postgres each killed once, a service paused past the delivery
// timeout, saga events delivered twice, second instances of the replicated services, a rolling
// restart. After a bounded quiet period the books of every service (and the card provider's ledger)
// are checked; the report and its plot go to tests/bench/reports. Exits 1 when an invariant broke or
// a scheduled fault did not fire, 2 on bad flags.
//
//   npm run chaos                                   # 2,000 buyers, 500 tickets, 180 s of faults
//   npm run chaos -- --buyers 300 --tickets 80 --duration 60 --seed 7 --faults kill,pause
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot, signalGroup } from '@reservex/local';
import { mintAccessToken, newSigningKey } from '../e2e/edge/stack.ts';
import { type Books, longTransactions, readBooks } from './books.ts';
import { type BuyerOutcome, planBuyers, runBuyer, type Sale } from './buyers.ts';
import { parseFlags, usage } from './flags.ts';
import { accountDeadLetters, checkInvariants } from './invariants.ts';
import {
  bookingsPerSecond,
  type ChaosResult,
  type FiredFault,
  flowEnds,
  markdownReport,
  percentiles,
  plotSvg,
  recoveryAfter,
  type TraceCheck,
} from './report.ts';
import { faultSchedule, type ScheduledFault } from './schedule.ts';
import {
  admissionRate,
  type ChaosStack,
  CONSUMERS,
  DUPLICATOR,
  REPLICATED,
  startChaosStack,
} from './stack.ts';
import { createSupervisor, firstLine } from './supervisor.ts';

const parsed = parseFlags(process.argv.slice(2));
if ('error' in parsed) {
  process.stderr.write(`chaos: ${parsed.error}\nusage: ${usage}\n`);
  process.exit(2);
}
const flags = parsed.flags;
const startedAt = Date.now();
const print = (line: string) =>
  process.stdout.write(`[chaos +${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Bounds: the stack starts within this, the checks take at most this. */
const START_BOUND_S = 300;
const CHECK_BOUND_S = 120;
const hardLimitS = START_BOUND_S + flags.durationS + flags.settleS + CHECK_BOUND_S;
let stack: ChaosStack | undefined;
const hardStop = setTimeout(async () => {
  print(`did not finish within ${hardLimitS} s: stopping the stack and failing`);
  await stack?.stop().catch(() => {});
  process.exit(1);
}, hardLimitS * 1000);

const supervisor = createSupervisor({ log: print });
const signingKey = await newSigningKey();

async function createShow(gateway: string): Promise<{ showId: string; ticketTypeIds: [string, string] }> {
  const token = await mintAccessToken(signingKey, { userId: 'chaos-box-office', roles: ['USER', 'ADMIN'] });
  const first = Math.ceil(flags.tickets * 0.6);
  const now = Date.now();
  const type = (name: string, capacity: number, priceMinor: number) => ({
    name,
    priceMinor,
    currency: 'EUR',
    capacity,
    saleStartsAt: new Date(now - 60_000).toISOString(),
    perOrderLimit: 2,
  });
  const response = await fetch(`${gateway}/api/v1/shows`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      title: `Flash sale under fire (seed ${flags.seed})`,
      venue: 'Loopback Arena',
      startsAt: new Date(now + 30 * 86_400_000).toISOString(),
      ticketTypes: [type('Standing', first, 4500), type('Seated', flags.tickets - first, 7000)],
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`creating the show answered ${response.status}: ${text}`);
  const show = JSON.parse(text) as { id: string; ticketTypes: { id: string; capacity: number }[] };
  const ids = show.ticketTypes.sort((a, b) => b.capacity - a.capacity).map((t) => t.id);
  return { showId: show.id, ticketTypeIds: [ids[0]!, ids[1]!] };
}

/** Waits (bounded) until the process is running, so a fault never lands on one still restarting. */
async function whenRunning(name: string, timeoutMs = 30_000): Promise<number | undefined> {
  const control = supervisor.control(name);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = control.pid();
    if (pid !== undefined) return pid;
    await sleep(200);
  }
  return undefined;
}

async function fire(fault: ScheduledFault, live: ChaosStack, openedAt: number): Promise<FiredFault> {
  const fired: FiredFault = { scheduled: fault };
  switch (fault.kind) {
    case 'kill':
    case 'infra': {
      // Through the supervisor's turn: a restart of the same process in progress finishes first.
      await supervisor.exclusive(fault.target, async () => {
        const pid = await whenRunning(fault.target);
        if (pid === undefined) {
          fired.detail = 'target was not running within 30 s of its time';
          return;
        }
        // A crash, not a stop: the supervisor sees an unexpected exit and restarts it.
        signalGroup(pid, 'SIGKILL');
        fired.firedAt = Date.now();
        fired.pid = pid;
        const late = fired.firedAt - (openedAt + fault.atS * 1000);
        if (late > 1000) fired.detail = `fired ${(late / 1000).toFixed(1)} s late (target was restarting)`;
      });
      break;
    }
    case 'pause': {
      const control = supervisor.control(fault.target);
      await supervisor.exclusive(fault.target, async () => {
        const pid = control.pause();
        if (pid === undefined) {
          fired.detail = 'target was not running';
          return;
        }
        fired.firedAt = Date.now();
        fired.pid = pid;
        await sleep(fault.forS * 1000);
        control.resume();
        fired.endedAt = Date.now();
        fired.detail = `SIGSTOP for ${fault.forS} s, then SIGCONT`;
      });
      break;
    }
    case 'replicas':
    case 'duplicates': {
      const pid = supervisor.control(fault.target).pid();
      if (pid !== undefined) {
        fired.firedAt = openedAt;
        fired.pid = pid;
      }
      if (fault.kind === 'duplicates') fired.detail = `${Math.round(fault.share * 100)} % of saga events`;
      break;
    }
    case 'rolling': {
      fired.firedAt = Date.now();
      const steps: string[] = [];
      for (const name of live.instances.keys()) {
        const handle = live.instances.get(name)!;
        const before = handle.pid();
        await Promise.all([
          supervisor.exclusive(name, () => handle.restart()),
          handle.sidecar ? supervisor.exclusive(`${name}.daprd`, () => handle.sidecar!.restart()) : undefined,
        ]).catch((error) => steps.push(`${name} failed: ${firstLine(error)}`));
        steps.push(`${name} ${before}→${handle.pid()}`);
      }
      fired.pid = undefined;
      fired.endedAt = Date.now();
      fired.detail = steps.join(', ');
      break;
    }
  }
  print(
    fired.firedAt === undefined
      ? `fault ${fault.kind} ${fault.target} did NOT fire: ${fired.detail ?? ''}`
      : `fault ${fault.kind} ${fault.target} fired (pid ${fired.pid ?? '–'})${fired.detail ? `: ${fired.detail}` : ''}`,
  );
  return fired;
}

/** Confirmed bookings whose saga ran clear of every fault and restart have a complete trace. */
async function checkTraces(live: ChaosStack, books: Books, faults: FiredFault[]): Promise<TraceCheck> {
  const windows = [
    ...faults
      .filter(
        (f) =>
          f.firedAt !== undefined && f.scheduled.kind !== 'replicas' && f.scheduled.kind !== 'duplicates',
      )
      .map((f) => [f.firedAt! - 1000, (f.endedAt ?? f.firedAt!) + 5000] as const),
    ...supervisor.restarts().map((r) => [r.diedAt - 1000, r.diedAt + r.tookMs + 5000] as const),
  ];
  const candidates = books.reservations.filter(
    (r) =>
      r.status === 'CONFIRMED' &&
      r.endedAt !== null &&
      windows.every(([from, to]) => r.endedAt! + 3000 < from || r.createdAt > to),
  );
  const step = Math.max(1, Math.floor(candidates.length / 8));
  const chosen = candidates.filter((_, i) => i % step === 0).slice(0, 8);
  const details = new Map(books.details.map((d) => [d.reservationId, d]));
  const wanted = ['gateway', 'reservation', 'inventory', 'payment', 'ticket', 'query'];
  const steps = ['reservation.place', 'stock.hold', 'reservation.confirm', 'stock.sell'];
  const incomplete: TraceCheck['incomplete'] = [];
  for (const r of chosen) {
    const traceId = details.get(r.id)?.traceId ?? null;
    if (!traceId) {
      incomplete.push({ reservationId: r.id, traceId, missing: 'no trace id in the read model' });
      continue;
    }
    let missing = '';
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const response = await fetch(`${live.info.jaeger.uiUrl}/api/traces/${traceId}`, {
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await response.json()) as {
          data?: {
            spans: { processID: string; tags: { key: string; value: unknown }[] }[];
            processes: Record<string, { serviceName: string }>;
          }[];
        };
        const trace = body.data?.[0];
        if (!trace) missing = 'not in Jaeger';
        else {
          const services = new Set(Object.values(trace.processes).map((p) => p.serviceName));
          const seen = new Set(
            trace.spans.flatMap((s) =>
              s.tags.filter((t) => t.key === 'saga.step').map((t) => String(t.value)),
            ),
          );
          missing = [
            ...wanted.filter((s) => !services.has(s)).map((s) => `no ${s} span`),
            ...steps.filter((s) => !seen.has(s)).map((s) => `no ${s} step`),
          ].join(', ');
        }
      } catch (error) {
        missing = `Jaeger: ${firstLine(error)}`;
      }
      if (missing === '') break;
      await sleep(2000);
    }
    if (missing !== '') incomplete.push({ reservationId: r.id, traceId, missing });
  }
  return { candidates: candidates.length, checked: chosen.map((r) => r.id), incomplete };
}

async function main(): Promise<number> {
  print(
    `seed ${flags.seed}: ${flags.buyers} buyers, ${flags.tickets} tickets, ${flags.durationS} s of faults (${flags.faults.join(', ') || 'none'})`,
  );
  stack = await startChaosStack(flags, signingKey, supervisor, print);
  const live = stack;
  const stackStartMs = Date.now() - startedAt;
  print(`stack up in ${(stackStartMs / 1000).toFixed(1)} s`);
  const show = await createShow(live.gateway);

  const schedule = faultSchedule({
    flags,
    instances: [...live.instances.keys()],
    consumers: [...live.instances.keys()].filter((name) =>
      CONSUMERS.some((c) => name === c || name.startsWith(`${c}.`)),
    ),
    replicated: flags.faults.includes('replicas') ? REPLICATED : [],
    duplicator: DUPLICATOR,
  });
  for (const fault of schedule) print(`scheduled: ${fault.atS.toFixed(1)} s ${fault.kind} ${fault.target}`);

  const openedAt = Date.now() + 1000;
  const saleEnd = openedAt + flags.durationS * 1000;
  const deadline = saleEnd + flags.settleS * 1000;
  const rate = admissionRate(flags);
  const sale: Sale = { gateway: live.gateway, ...show, signingKey, admissionRate: rate, deadline, openedAt };
  const plans = planBuyers({
    seed: flags.seed,
    buyers: flags.buyers,
    arrivalMs: Math.min(30_000, flags.durationS * 200),
  });
  const buyersDone = Promise.all(plans.map((plan) => runBuyer(sale, plan)));
  const faultsDone = Promise.all(
    schedule.map(async (fault) => {
      await sleep(Math.max(0, openedAt + fault.atS * 1000 - Date.now()));
      return fire(fault, live, openedAt);
    }),
  );
  // Progress while the sale runs.
  let outcomes: BuyerOutcome[] | undefined;
  void buyersDone.then((done) => {
    outcomes = done;
  });
  const progress = setInterval(async () => {
    print(`sale running; supervisor restarts so far: ${supervisor.restarts().length}`);
    for (const line of await longTransactions(live.info, 20).catch(() => []))
      print(`  long transaction: ${line}`);
  }, 15_000);
  const fired = await faultsDone;
  clearInterval(progress);
  await sleep(Math.max(0, saleEnd - Date.now()));
  print('faults over; quiet period: waiting for the supervisor and for every saga to end');
  await supervisor.idle(60_000);
  const duplicatesCopied = live.duplicator
    ? await fetch(`${live.duplicator.url}/copies`, { signal: AbortSignal.timeout(10_000) })
        .then(async (r) => ((await r.json()) as { total: number }).total)
        .catch(() => undefined)
    : undefined;
  for (const f of fired) {
    if (f.scheduled.kind === 'duplicates' && f.firedAt !== undefined && !duplicatesCopied) {
      f.firedAt = undefined;
      f.detail = 'no event was republished';
    } else if (f.scheduled.kind === 'duplicates') {
      f.detail = `${f.detail}: ${duplicatesCopied} events republished`;
    }
  }

  // The quiet period: every buyer has finished or given up, every saga ended and no stock left held.
  let books = await readBooks(live.info, show.showId);
  while (Date.now() < deadline) {
    const open = books.reservations.filter(
      (r) => r.status !== 'CONFIRMED' && r.status !== 'CANCELLED',
    ).length;
    const held = books.stock.reduce((n, t) => n + t.held, 0);
    if (outcomes && open === 0 && held === 0) break;
    print(`quiet period: ${open} sagas open, ${held} tickets held`);
    // What a stalled saga may be waiting on, for the log.
    for (const line of await longTransactions(live.info).catch(() => []))
      print(`  long transaction: ${line}`);
    await sleep(5000);
    books = await readBooks(live.info, show.showId);
  }
  // Consumers of the last events (query's projection, inventory's sell) catch up.
  await sleep(5000);
  books = await readBooks(live.info, show.showId);
  const buyers =
    outcomes ?? (await Promise.race([buyersDone, sleep(30_000).then(() => [] as BuyerOutcome[])]));

  const ends = flowEnds(books);
  for (const f of fired) {
    if (f.firedAt === undefined || f.scheduled.kind === 'replicas' || f.scheduled.kind === 'duplicates')
      continue;
    f.recoveryMs = recoveryAfter(ends, f.endedAt ?? f.firedAt);
  }
  const checks = checkInvariants(books);
  const traces = await checkTraces(live, books, fired);
  const confirmed = books.reservations.filter((r) => r.status === 'CONFIRMED');
  const cancelledRows = books.reservations.filter((r) => r.status === 'CANCELLED');
  const cancelled: Record<string, number> = {};
  for (const r of cancelledRows) cancelled[r.reason ?? 'NONE'] = (cancelled[r.reason ?? 'NONE'] ?? 0) + 1;
  const refused: Record<string, number> = {};
  for (const b of buyers) if (b.refused) refused[b.refused] = (refused[b.refused] ?? 0) + 1;

  const failures = [
    ...checks.filter((c) => !c.ok).map((c) => `invariant broken: ${c.name} (${c.detail})`),
    ...fired
      .filter((f) => f.firedAt === undefined)
      .map(
        (f) =>
          `scheduled fault did not fire: ${f.scheduled.kind} ${f.scheduled.target} at ${f.scheduled.atS} s (${f.detail ?? ''})`,
      ),
    ...supervisor
      .restarts()
      .filter((r) => !r.ok)
      .map((r) => `supervisor could not restart ${r.name}`),
    ...traces.incomplete.map((t) => `incomplete trace for ${t.reservationId}: ${t.missing}`),
    ...(books.reservations.length === 0 ? ['no reservation was placed'] : []),
  ];
  const finishedAt = Date.now();
  const result: ChaosResult = {
    flags,
    command: `npm run chaos -- ${process.argv.slice(2).join(' ')}`.trim(),
    startedAt,
    openedAt,
    finishedAt,
    stackStartMs,
    faults: fired,
    restarts: supervisor.restarts(),
    buyers: {
      total: buyers.length,
      admitted: buyers.filter((b) => b.admittedAt !== undefined).length,
      placed: buyers.filter((b) => b.reservationId).length,
      refused,
      gaveUp: buyers.filter((b) => b.gaveUp).length,
      retries: buyers.reduce((n, b) => n + b.retries, 0),
      gaveUpExamples: [...new Set(buyers.filter((b) => b.gaveUp).map((b) => b.gaveUp!))].slice(0, 5),
    },
    outcomes: {
      confirmed: confirmed.length,
      cancelled,
      open: books.reservations.length - confirmed.length - cancelledRows.length,
    },
    latency: {
      confirmed: percentiles(confirmed.map((r) => r.endedAt! - r.createdAt)),
      cancelled: percentiles(
        cancelledRows.filter((r) => r.endedAt !== null).map((r) => r.endedAt! - r.createdAt),
      ),
    },
    checks,
    deadLetters: accountDeadLetters(books),
    traces,
    duplicatesCopied,
    failures,
  };
  const binS = Math.max(1, Math.round(flags.durationS / 90));
  const untilS = Math.ceil((Math.max(saleEnd, ...ends) - openedAt) / 1000) + binS;
  const stamp = new Date(startedAt).toISOString().replace(/[:.]/g, '-');
  const dir = join(repoRoot, flags.reports);
  mkdirSync(dir, { recursive: true });
  const base = `chaos-${flags.label}-${stamp}`;
  writeFileSync(
    join(dir, `${base}.svg`),
    plotSvg(result, bookingsPerSecond(books, openedAt, binS, untilS), binS),
  );
  writeFileSync(join(dir, `${base}.md`), markdownReport(result, `${base}.svg`));
  print(`report: ${relative(repoRoot, join(dir, `${base}.md`))}`);
  for (const c of checks) print(`${c.ok ? 'held ' : 'BROKE'} ${c.name}: ${c.detail}`);
  print(
    `${confirmed.length} confirmed, ${cancelledRows.length} cancelled, ${result.outcomes.open} open; ` +
      `${fired.filter((f) => f.firedAt !== undefined).length}/${fired.length} faults fired; ` +
      `${supervisor.restarts().length} restarts; traces ${traces.checked.length - traces.incomplete.length}/${traces.checked.length} complete`,
  );
  for (const failure of failures) print(`FAILED: ${failure}`);
  return failures.length === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  print(`the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  code = 1;
} finally {
  supervisor.close();
  await stack?.stop().catch(() => {});
  clearTimeout(hardStop);
}
print(`wall time ${((Date.now() - startedAt) / 1000).toFixed(1)} s; ${code === 0 ? 'passed' : 'FAILED'}`);
process.exit(code);
