// The whole user journey through the gateway only: sign up, log in, join the waiting room, see the
// admission over server-sent events, reserve with the pass, watch it become CONFIRMED, and find it
// with its tickets among my reservations. Then what must be refused: another user's reservation
// (404), and a spent pass, a pass for another show, a forged pass (403).
import { randomUUID } from 'node:crypto';
import type { AppId } from '@reservex/contracts';
import type { StartedApps } from '@reservex/local';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { call, expectProblem, newSigningKey, readEvents, startEdge } from './support.ts';

const infra = inject('infra');
const ADMIN = 'boxoffice@reservex.test';
const PASSWORD = 'correct horse battery staple';

interface Session {
  userId: string;
  accessToken: string;
}

describe('edge: the user journey', () => {
  let stack: StartedApps<AppId>;
  let gateway: string;

  beforeAll(async () => {
    stack = await startEdge(infra, {
      signingKey: await newSigningKey(),
      with: ['inventory', 'reservation', 'payment', 'ticket', 'query'],
      env: { account: { ADMIN_EMAILS: ADMIN } },
    });
    gateway = stack.apps.gateway.url;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function signUpAndLogIn(email: string): Promise<Session> {
    const signup = await call(gateway, 'POST', '/api/v1/auth/signup', {
      body: { email, password: PASSWORD },
    });
    expect(signup.status, signup.text).toBe(202);
    const login = await call(gateway, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, login.text).toBe(200);
    return login.body as Session;
  }

  /** The box-office administrator (ADMIN_EMAILS), signed up by whichever test needs it first. */
  async function adminSession(): Promise<Session> {
    const signup = await call(gateway, 'POST', '/api/v1/auth/signup', {
      body: { email: ADMIN, password: PASSWORD },
    });
    expect(signup.status, signup.text).toBe(202);
    const login = await call(gateway, 'POST', '/api/v1/auth/login', {
      body: { email: ADMIN, password: PASSWORD },
    });
    expect(login.status, login.text).toBe(200);
    expect(login.body.roles).toContain('ADMIN');
    return login.body as Session;
  }

  async function createShow(admin: Session, capacity = 20) {
    const now = Date.now();
    const show = await call(gateway, 'POST', '/api/v1/shows', {
      token: admin.accessToken,
      body: {
        title: `Edge night ${randomUUID().slice(0, 8)}`,
        venue: 'Main hall',
        startsAt: new Date(now + 30 * 86_400_000).toISOString(),
        ticketTypes: [
          {
            name: 'Standing',
            priceMinor: 4500,
            currency: 'EUR',
            capacity,
            saleStartsAt: new Date(now - 60_000).toISOString(),
            perOrderLimit: 4,
          },
        ],
      },
    });
    expect(show.status, show.text).toBe(201);
    const showId = show.body.id as string;
    const ticketTypeId = show.body.ticketTypes[0].id as string;
    return { showId, ticketTypeId };
  }

  async function admittedPass(session: Session, showId: string): Promise<string> {
    const joined = await call(gateway, 'POST', `/api/v1/queue/${showId}/join`, {
      token: session.accessToken,
    });
    expect(joined.status, joined.text).toBe(200);
    const events = await readEvents(
      `${gateway}/api/v1/queue/${showId}/events`,
      session.accessToken,
      (event) => event.event === 'admitted',
      30_000,
    );
    const admitted = events.find((event) => event.event === 'admitted');
    expect(admitted, JSON.stringify(events)).toBeDefined();
    const body = JSON.parse(admitted!.data) as { status: string; passToken: string; expiresAt: string };
    expect(body.status).toBe('admitted');
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());
    return body.passToken;
  }

  function reserve(session: Session, pass: string, showId: string, ticketTypeId: string, quantity = 2) {
    return call(gateway, 'POST', '/api/v1/reservations', {
      token: session.accessToken,
      headers: { 'idempotency-key': randomUUID(), 'x-pass-token': pass },
      body: { showId, ticketTypeId, quantity, paymentMethod: { token: 'tok_success' } },
    });
  }

  it('sign up → log in → join → admitted over SSE → reserve with the pass → CONFIRMED → listed with tickets', async () => {
    const { showId, ticketTypeId } = await createShow(await adminSession());
    const buyer = await signUpAndLogIn(`buyer-${randomUUID()}@reservex.test`);

    const pass = await admittedPass(buyer, showId);
    const placed = await reserve(buyer, pass, showId, ticketTypeId);
    expect(placed.status, placed.text).toBe(201);
    const reservationId = placed.body.id as string;

    const confirmed = await vi.waitFor(
      async () => {
        const details = await call(gateway, 'GET', `/api/v1/reservations/${reservationId}`, {
          token: buyer.accessToken,
        });
        expect(details.status).toBe(200);
        expect(details.body.status).toBe('CONFIRMED');
        // Until the read model has seen the reservation, the gateway answers for its owner from the
        // reservation service, which knows the status but not the tickets: wait for the read model.
        expect(details.body.tickets?.status).toBe('ISSUED');
        return details.body;
      },
      { timeout: 60_000, interval: 300 },
    );
    expect(confirmed.tickets.ticketIds).toHaveLength(2);

    const mine = await call(gateway, 'GET', '/api/v1/reservations', { token: buyer.accessToken });
    expect(mine.status).toBe(200);
    const listed = (
      mine.body.items as { reservationId: string; status: string; tickets: { ticketIds: string[] } }[]
    ).find((item) => item.reservationId === reservationId);
    expect(listed).toMatchObject({
      status: 'CONFIRMED',
      tickets: { ticketIds: confirmed.tickets.ticketIds },
    });

    // Another user sees nothing of it: 404, not 403.
    const stranger = await signUpAndLogIn(`stranger-${randomUUID()}@reservex.test`);
    expectProblem(
      await call(gateway, 'GET', `/api/v1/reservations/${reservationId}`, { token: stranger.accessToken }),
      404,
    );
    const theirs = await call(gateway, 'GET', '/api/v1/reservations', { token: stranger.accessToken });
    expect((theirs.body.items as unknown[]).length).toBe(0);

    // The confirmed reservation ended the visit: the slot is free and the buyer is out of the room.
    await expect
      .poll(
        async () =>
          (await call(gateway, 'GET', `/api/v1/queue/${showId}/position`, { token: buyer.accessToken }))
            .status,
        { timeout: 30_000, interval: 300 },
      )
      .toBe(404);

    // The pass was single use.
    expectProblem(await reserve(buyer, pass, showId, ticketTypeId, 1), 403);
  });

  it('refuses a pass for another show and a forged pass (403), and a reservation without one', async () => {
    const admin = await adminSession();
    const first = await createShow(admin);
    const second = await createShow(admin);
    const buyer = await signUpAndLogIn(`buyer-${randomUUID()}@reservex.test`);

    const passForSecond = await admittedPass(buyer, second.showId);
    expectProblem(await reserve(buyer, passForSecond, first.showId, first.ticketTypeId), 403);

    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ show: first.showId, typ: 'pass' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(buyer.userId)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(new TextEncoder().encode('not-the-shared-secret-but-long-enough-0123'));
    expectProblem(await reserve(buyer, forged, first.showId, first.ticketTypeId), 403);

    const without = await call(gateway, 'POST', '/api/v1/reservations', {
      token: buyer.accessToken,
      headers: { 'idempotency-key': randomUUID() },
      body: {
        showId: first.showId,
        ticketTypeId: first.ticketTypeId,
        quantity: 1,
        paymentMethod: { token: 'tok_success' },
      },
    });
    expectProblem(without, 403);

    // Someone else's pass is not mine either.
    const other = await signUpAndLogIn(`other-${randomUUID()}@reservex.test`);
    const othersPass = await admittedPass(other, first.showId);
    expectProblem(await reserve(buyer, othersPass, first.showId, first.ticketTypeId), 403);
  });
});
