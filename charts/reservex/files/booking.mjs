// One booking through the gateway, run by `helm test` (Node's fetch, no dependencies).
// Exits 0 once the reservation is CONFIRMED; prints the step that failed otherwise.
import { randomUUID } from 'node:crypto';

const base = process.env.GATEWAY_URL;
const deadline = Date.now() + Number(process.env.TIMEOUT_SECONDS ?? 180) * 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(step, method, path, { body, token, headers = {}, notYet = [] } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : undefined;
  if (notYet.includes(response.status)) return undefined;
  if (!response.ok) throw new Error(`${step}: ${method} ${path} answered ${response.status} ${text}`);
  console.log(`${step}: ${response.status}`);
  return json;
}

async function until(step, poll) {
  while (Date.now() < deadline) {
    const done = await poll();
    if (done !== undefined) return done;
    await sleep(1000);
  }
  throw new Error(`${step}: not done before the deadline`);
}

const email = `helm-test-${randomUUID()}@reservex.test`;
const password = `Pw-${randomUUID()}`;
await call('sign up', 'POST', '/api/v1/auth/signup', { body: { email, password } });
const login = await call('log in', 'POST', '/api/v1/auth/login', { body: { email, password } });
const token = login.accessToken ?? login.access_token;
if (!token) throw new Error('log in: no access token in the answer');

const shows = await call('list shows', 'GET', '/api/v1/shows?limit=100');
const now = Date.now();
const onSale = (type) =>
  type.available > 0 &&
  Date.parse(type.saleStartsAt) <= now &&
  (type.saleEndsAt == null || Date.parse(type.saleEndsAt) > now);
const wanted = process.env.SHOW_ID;
const show = shows.shows.find((s) => (wanted ? s.id === wanted : s.ticketTypes.some(onSale)));
if (wanted && !show) throw new Error(`list shows: show ${wanted} (tests.showId) is not in the catalogue`);
if (!show) {
  // A release without a catalogue (production values seed none): everything up to the booking is
  // checked, and the waiting room refuses a show that does not exist.
  const unknown = randomUUID();
  const joined = await call('join an unknown show', 'POST', `/api/v1/queue/${unknown}/join`, { token, notYet: [404] });
  if (joined !== undefined) throw new Error(`join an unknown show: ${unknown} was accepted, not 404`);
  console.log('no show on sale: the booking was not tried (set tests.showId, or seed.enabled, to book one)');
  process.exit(0);
}
const ticketType = show.ticketTypes.find(onSale) ?? show.ticketTypes[0];

await call('join queue', 'POST', `/api/v1/queue/${show.id}/join`, { token });
const passToken = await until('wait for admission', async () => {
  const position = await call('position', 'GET', `/api/v1/queue/${show.id}/position`, { token });
  return position.passToken ?? undefined;
});

const reservation = await call('reserve', 'POST', '/api/v1/reservations', {
  token,
  headers: { 'idempotency-key': randomUUID(), 'x-pass-token': passToken },
  body: {
    showId: show.id,
    ticketTypeId: ticketType.id,
    quantity: 1,
    paymentMethod: { token: process.env.PAYMENT_TOKEN },
  },
});

const status = await until('wait for the saga', async () => {
  // The read model catches up asynchronously: 404 until it has seen reservation.created.
  const current = await call('reservation', 'GET', `/api/v1/reservations/${reservation.id}`, { token, notYet: [404] });
  return current === undefined || current.status === 'PENDING' ? undefined : current.status;
});
if (status !== 'CONFIRMED') throw new Error(`reservation ${reservation.id} ended ${status}, not CONFIRMED`);
console.log(`booked: reservation ${reservation.id} CONFIRMED`);
