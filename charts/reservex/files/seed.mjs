// The demo catalogue, put on sale through the public API as an administrator would: sign up (a taken
// email is answered the same) and in as an address the account service makes ADMIN (ADMIN_EMAILS),
// then create the demo show unless a show of that title is there. Plain Node (fetch, no
// dependencies): the chart's seed Job runs this file in a stock Node image, and `npm start` imports it.
//
//   GATEWAY_URL=http://… SEED_ADMIN_EMAIL=… SEED_ADMIN_PASSWORD=… node seed.mjs

export const DEMO_SHOW_TITLE = 'ReserveX Live: Demo Night';

const DAY_MS = 86_400_000;
const demoTicketTypes = [
  { name: 'Standing', priceMinor: 4500, capacity: 500, perOrderLimit: 6 },
  { name: 'Seated', priceMinor: 8900, capacity: 200, perOrderLimit: 4 },
  { name: 'VIP lounge', priceMinor: 25000, capacity: 20, perOrderLimit: 2 },
];

/** Signs the administrator up and in; the access token it returns carries ADMIN. */
export async function signInAdmin(gatewayUrl, { email, password }) {
  const api = apiOf(gatewayUrl);
  const credentials = JSON.stringify({ email, password });
  const headers = { 'content-type': 'application/json' };
  const signup = await send(`${api}/auth/signup`, { method: 'POST', headers, body: credentials });
  if (signup.status !== 202) throw unexpected('POST /auth/signup', signup);
  const login = await send(`${api}/auth/login`, { method: 'POST', headers, body: credentials });
  if (login.status !== 200) throw unexpected('POST /auth/login', login);
  const session = JSON.parse(login.text);
  if (!session.roles.includes('ADMIN')) {
    throw new Error(`${email} signed in without the ADMIN role: is it in the account service's ADMIN_EMAILS?`);
  }
  return session.accessToken;
}

/** Puts the demo show on sale (from now, starting in 30 days) unless it is there; returns the show. */
export async function seedDemoShow({ gatewayUrl, accessToken, now = new Date() }) {
  const api = apiOf(gatewayUrl);
  const found = await findByTitle(api, DEMO_SHOW_TITLE);
  if (found) return found;
  const created = await send(`${api}/shows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({
      title: DEMO_SHOW_TITLE,
      venue: 'Loopback Arena, Hall 1',
      startsAt: new Date(now.getTime() + 30 * DAY_MS).toISOString(),
      ticketTypes: demoTicketTypes.map((type) => ({
        ...type,
        currency: 'EUR',
        saleStartsAt: new Date(now.getTime() - 60_000).toISOString(),
        saleEndsAt: null,
      })),
    }),
  });
  if (created.status !== 201) throw unexpected('POST /shows', created);
  return JSON.parse(created.text);
}

async function findByTitle(api, title) {
  const limit = 100;
  for (let offset = 0; offset < 100_000; offset += limit) {
    const response = await send(`${api}/shows?limit=${limit}&offset=${offset}`, { method: 'GET' });
    if (response.status !== 200) throw unexpected('GET /shows', response);
    const page = JSON.parse(response.text);
    const found = page.shows.find((show) => show.title === title);
    if (found || page.shows.length < limit) return found;
  }
  return undefined;
}

const apiOf = (gatewayUrl) => `${gatewayUrl.replace(/\/+$/, '')}/api/v1`;

async function send(url, init) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text() };
}

function unexpected(what, response) {
  return new Error(`${what}: HTTP ${response.status} ${response.text}`);
}

if (import.meta.main) {
  const { GATEWAY_URL, SEED_ADMIN_EMAIL, SEED_ADMIN_PASSWORD } = process.env;
  const missing = Object.entries({ GATEWAY_URL, SEED_ADMIN_EMAIL, SEED_ADMIN_PASSWORD })
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length > 0) {
    console.error(`seed: set ${missing.join(', ')}`);
    process.exit(2);
  }
  const accessToken = await signInAdmin(GATEWAY_URL, { email: SEED_ADMIN_EMAIL, password: SEED_ADMIN_PASSWORD });
  const show = await seedDemoShow({ gatewayUrl: GATEWAY_URL, accessToken });
  console.log(`seed: "${show.title}" (${show.id}) is on sale`);
}
