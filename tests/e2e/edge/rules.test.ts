// The product's rules, through the gateway only: the waiting room opens only for a show on sale; a
// door admits only tickets of its own show, scanned by staff of that show; one user may hold only
// so many tickets of a type across orders; and a failed booking does not lock the buyer out.
import { randomUUID } from 'node:crypto';
import type { AppId } from '@reservex/contracts';
import type { StartedApps } from '@reservex/local';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { call, expectProblem, newSigningKey, startEdge } from './support.ts';

const infra = inject('infra');
const ADMIN = 'rules-office@reservex.test';
const PASSWORD = 'correct horse battery staple';

interface Session {
  userId: string;
  accessToken: string;
  roles: string[];
}

describe('edge: product rules', () => {
  let stack: StartedApps<AppId>;
  let gateway: string;
  let admin: Session;

  beforeAll(async () => {
    stack = await startEdge(infra, {
      signingKey: await newSigningKey(),
      with: ['inventory', 'reservation', 'payment', 'ticket', 'query'],
      env: { account: { ADMIN_EMAILS: ADMIN } },
    });
    gateway = stack.apps.gateway.url;
    admin = await signUpAndLogIn(ADMIN);
    expect(admin.roles).toContain('ADMIN');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function logIn(email: string): Promise<Session> {
    const login = await call(gateway, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, login.text).toBe(200);
    return login.body as Session;
  }

  async function signUpAndLogIn(email = `user-${randomUUID()}@reservex.test`): Promise<Session> {
    const signup = await call(gateway, 'POST', '/api/v1/auth/signup', {
      body: { email, password: PASSWORD },
    });
    expect(signup.status, signup.text).toBe(202);
    return logIn(email);
  }

  async function createShow(
    terms: { perOrderLimit?: number; perUserLimit?: number; saleInMs?: number } = {},
  ) {
    const now = Date.now();
    const show = await call(gateway, 'POST', '/api/v1/shows', {
      token: admin.accessToken,
      body: {
        title: `Rules night ${randomUUID().slice(0, 8)}`,
        venue: 'Main hall',
        startsAt: new Date(now + 30 * 86_400_000).toISOString(),
        ticketTypes: [
          {
            name: 'Standing',
            priceMinor: 4500,
            currency: 'EUR',
            capacity: 20,
            saleStartsAt: new Date(now + (terms.saleInMs ?? -60_000)).toISOString(),
            perOrderLimit: terms.perOrderLimit ?? 4,
            ...(terms.perUserLimit === undefined ? {} : { perUserLimit: terms.perUserLimit }),
          },
        ],
      },
    });
    expect(show.status, show.text).toBe(201);
    return { showId: show.body.id as string, ticketTypeId: show.body.ticketTypes[0].id as string };
  }

  const jtiOf = (passToken: string) =>
    (JSON.parse(Buffer.from(passToken.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

  /** Joins (again) and waits for a pass; `not` skips a pass already used (same id). */
  async function pass(session: Session, showId: string, not?: string): Promise<string> {
    const joined = await call(gateway, 'POST', `/api/v1/queue/${showId}/join`, {
      token: session.accessToken,
    });
    expect(joined.status, joined.text).toBe(200);
    return vi.waitFor(
      async () => {
        const position = await call(gateway, 'GET', `/api/v1/queue/${showId}/position`, {
          token: session.accessToken,
        });
        if (position.status === 404)
          await call(gateway, 'POST', `/api/v1/queue/${showId}/join`, { token: session.accessToken });
        expect(position.body).toMatchObject({ status: 'admitted', passToken: expect.any(String) });
        const token = position.body.passToken as string;
        if (not) expect(jtiOf(token), 'a new pass').not.toBe(jtiOf(not));
        return token;
      },
      { timeout: 30_000, interval: 200 },
    );
  }

  function reserve(
    session: Session,
    passToken: string,
    show: { showId: string; ticketTypeId: string },
    quantity: number,
    card = 'tok_success',
  ) {
    return call(gateway, 'POST', '/api/v1/reservations', {
      token: session.accessToken,
      headers: { 'idempotency-key': randomUUID(), 'x-pass-token': passToken },
      body: { ...show, quantity, paymentMethod: { token: card } },
    });
  }

  async function ended(
    session: Session,
    reservationId: string,
  ): Promise<{ status: string; tickets: { ticketIds: string[] } }> {
    return vi.waitFor(
      async () => {
        const details = await call(gateway, 'GET', `/api/v1/reservations/${reservationId}`, {
          token: session.accessToken,
        });
        if (details.body?.status !== 'CANCELLED') {
          expect(details.body?.status).toBe('CONFIRMED');
          expect(details.body.tickets?.ticketIds ?? []).not.toEqual([]);
        }
        return details.body;
      },
      { timeout: 60_000, interval: 300 },
    );
  }

  it('the waiting room opens only for a show that exists (404) and is on sale (409)', async () => {
    const buyer = await signUpAndLogIn();
    expectProblem(
      await call(gateway, 'POST', `/api/v1/queue/${randomUUID()}/join`, { token: buyer.accessToken }),
      404,
    );
    const later = await createShow({ saleInMs: 3_600_000 });
    expectProblem(
      await call(gateway, 'POST', `/api/v1/queue/${later.showId}/join`, { token: buyer.accessToken }),
      409,
      'not-on-sale',
    );
  });

  it('a door admits only its own show’s tickets, scanned by staff of that show; a refused ticket stays valid', async () => {
    const concert = await createShow();
    const play = await createShow();
    const buyer = await signUpAndLogIn();
    const placed = await reserve(buyer, await pass(buyer, concert.showId), concert, 1);
    expect(placed.status, placed.text).toBe(201);
    const done = await ended(buyer, placed.body.id);
    expect(done.status).toBe('CONFIRMED');
    const ticketId = done.tickets.ticketIds[0]!;
    const ticket = await call(gateway, 'GET', `/api/v1/tickets/${ticketId}`, { token: buyer.accessToken });
    expect(ticket.status, ticket.text).toBe(200);
    const code = ticket.body.code as string;

    // Door staff of the play, granted by the administrator.
    const email = `door-${randomUUID()}@reservex.test`;
    const door = await signUpAndLogIn(email);
    expectProblem(
      await call(gateway, 'POST', '/api/v1/tickets/scan', {
        token: door.accessToken,
        body: { code, showId: play.showId },
      }),
      403,
    );
    const grant = await call(gateway, 'PUT', `/api/v1/admin/staff/${door.userId}/shows/${play.showId}`, {
      token: admin.accessToken,
    });
    expect(grant.status, grant.text).toBe(204);
    expectProblem(
      await call(gateway, 'PUT', `/api/v1/admin/staff/${door.userId}/shows/${play.showId}`, {
        token: door.accessToken,
      }),
      403,
    );
    const playDoor = await logIn(email);
    expect(playDoor.roles).toContain(`STAFF:${play.showId}`);

    // The concert ticket at the play's door: refused, and still valid.
    const elsewhere = await call(gateway, 'POST', '/api/v1/tickets/scan', {
      token: playDoor.accessToken,
      body: { code, showId: play.showId, gate: 'North 2' },
    });
    expectProblem(elsewhere, 409, 'ticket-wrong-show');
    // Staff of the play are not staff of the concert.
    expectProblem(
      await call(gateway, 'POST', '/api/v1/tickets/scan', {
        token: playDoor.accessToken,
        body: { code, showId: concert.showId },
      }),
      403,
    );
    const still = await call(gateway, 'GET', `/api/v1/tickets/${ticketId}`, { token: buyer.accessToken });
    expect(still.body.status).toBe('valid');

    // Staff of the concert admit it, once.
    await call(gateway, 'PUT', `/api/v1/admin/staff/${door.userId}/shows/${concert.showId}`, {
      token: admin.accessToken,
    });
    const concertDoor = await logIn(email);
    const admitted = await call(gateway, 'POST', '/api/v1/tickets/scan', {
      token: concertDoor.accessToken,
      body: { code, showId: concert.showId },
    });
    expect(admitted.status, admitted.text).toBe(200);
    expect(admitted.body).toMatchObject({ ticketId, showId: concert.showId, status: 'admitted' });
    expectProblem(
      await call(gateway, 'POST', '/api/v1/tickets/scan', {
        token: concertDoor.accessToken,
        body: { code, showId: concert.showId },
      }),
      409,
      'ticket-already-admitted',
    );
  });

  it('refuses a second order past the per-user limit (409), and keeps the pass for a smaller one', async () => {
    const show = await createShow({ perOrderLimit: 2, perUserLimit: 3 });
    const buyer = await signUpAndLogIn();
    const firstPass = await pass(buyer, show.showId);
    const first = await reserve(buyer, firstPass, show, 2);
    expect(first.status, first.text).toBe(201);
    expect((await ended(buyer, first.body.id)).status).toBe('CONFIRMED');

    const second = await pass(buyer, show.showId, firstPass);
    const over = await reserve(buyer, second, show, 2);
    expectProblem(over, 409, 'per-user-limit');
    expect(over.body).toMatchObject({ perUserLimit: 3, held: 2 });
    const within = await reserve(buyer, second, show, 1);
    expect(within.status, within.text).toBe(201);
  });

  it('after a failed booking the buyer books again at once, with a fresh pass', async () => {
    const show = await createShow();
    const buyer = await signUpAndLogIn();
    const first = await pass(buyer, show.showId);
    const declined = await reserve(buyer, first, show, 1, 'tok_declined');
    expect(declined.status, declined.text).toBe(201);
    expect((await ended(buyer, declined.body.id)).status).toBe('CANCELLED');

    const fresh = await pass(buyer, show.showId, first);
    const again = await reserve(buyer, fresh, show, 1);
    expect(again.status, again.text).toBe(201);
    expect((await ended(buyer, again.body.id)).status).toBe('CONFIRMED');
  });
});
