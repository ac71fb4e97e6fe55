// What `npm start` sets up for a first visit, through the public API like anyone would: a demo
// administrator (an address the account service is told to make ADMIN, as an operator lists theirs in
// ADMIN_EMAILS) and, signed in as them, a demo show on sale. Running it again finds both.

export const DEMO_SHOW_TITLE = 'ReserveX Live: Demo Night';

/**
 * The local demo administrator. Public and local-only: the account service makes this address
 * ADMIN only because `npm start` lists it in the account service's ADMIN_EMAILS.
 */
export const DEMO_ADMIN = {
  email: 'admin@reservex.local',
  password: 'local demo admin password',
} as const;

export type DemoShow = {
  showId: string;
  title: string;
  venue: string;
  startsAt: string;
  ticketTypes: {
    id: string;
    name: string;
    priceMinor: number;
    currency: string;
    available: number;
    perOrderLimit: number;
  }[];
};

type ShowBody = {
  id: string;
  title: string;
  venue: string;
  startsAt: string;
  ticketTypes: DemoShow['ticketTypes'];
};

/** The ADMIN_EMAILS the account service gets: the demo administrator plus the operator's own list. */
export function adminEmails(operatorList: string | undefined): string {
  return [DEMO_ADMIN.email, ...(operatorList ?? '').split(',').map((e) => e.trim())]
    .filter((email) => email.length > 0)
    .join(',');
}

/** Signs the demo administrator up (a taken email is answered the same) and in; the token carries ADMIN. */
export async function signInDemoAdmin(gatewayUrl: string): Promise<string> {
  const api = `${gatewayUrl.replace(/\/+$/, '')}/api/v1`;
  const credentials = JSON.stringify(DEMO_ADMIN);
  const headers = { 'content-type': 'application/json' };
  const signup = await send(`${api}/auth/signup`, { method: 'POST', headers, body: credentials });
  if (signup.status !== 202) throw unexpected('POST /auth/signup', signup);
  const login = await send(`${api}/auth/login`, { method: 'POST', headers, body: credentials });
  if (login.status !== 200) throw unexpected('POST /auth/login', login);
  const session = JSON.parse(login.text) as { accessToken: string; roles: string[] };
  if (!session.roles.includes('ADMIN')) {
    throw new Error(
      `${DEMO_ADMIN.email} signed in without the ADMIN role: is it in the account service's ADMIN_EMAILS?`,
    );
  }
  return session.accessToken;
}

/** Puts the demo show on sale through the gateway as the given administrator, unless it is there. */
export async function seedDemoShow(options: {
  gatewayUrl: string;
  accessToken: string;
  now?: Date;
}): Promise<DemoShow> {
  const api = `${options.gatewayUrl.replace(/\/+$/, '')}/api/v1`;
  const now = options.now ?? new Date();
  const found = await findByTitle(api, DEMO_SHOW_TITLE);
  if (found) return demoShowOf(found);

  const created = await send(`${api}/shows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.accessToken}` },
    body: JSON.stringify({
      title: DEMO_SHOW_TITLE,
      venue: 'Loopback Arena, Hall 1',
      startsAt: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
      ticketTypes: [
        ticketType('Standing', 4500, 500, 6, now),
        ticketType('Seated', 8900, 200, 4, now),
        ticketType('VIP lounge', 25000, 20, 2, now),
      ],
    }),
  });
  if (created.status !== 201) throw unexpected('POST /shows', created);
  return demoShowOf(JSON.parse(created.text) as ShowBody);
}

async function findByTitle(api: string, title: string): Promise<ShowBody | undefined> {
  const limit = 100;
  for (let offset = 0; offset < 100_000; offset += limit) {
    const response = await send(`${api}/shows?limit=${limit}&offset=${offset}`, { method: 'GET' });
    if (response.status !== 200) throw unexpected('GET /shows', response);
    const page = JSON.parse(response.text) as { shows: ShowBody[] };
    const found = page.shows.find((s) => s.title === title);
    if (found || page.shows.length < limit) return found;
  }
  return undefined;
}

function ticketType(name: string, priceMinor: number, capacity: number, perOrderLimit: number, now: Date) {
  return {
    name,
    priceMinor,
    currency: 'EUR',
    capacity,
    perOrderLimit,
    saleStartsAt: new Date(now.getTime() - 60_000).toISOString(),
    saleEndsAt: null,
  };
}

function demoShowOf(show: ShowBody): DemoShow {
  return {
    showId: show.id,
    title: show.title,
    venue: show.venue,
    startsAt: show.startsAt,
    ticketTypes: show.ticketTypes.map(({ id, name, priceMinor, currency, available, perOrderLimit }) => ({
      id,
      name,
      priceMinor,
      currency,
      available,
      perOrderLimit,
    })),
  };
}

async function send(url: string, init: RequestInit): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text() };
}

function unexpected(what: string, response: { status: number; text: string }): Error {
  return new Error(`${what}: HTTP ${response.status} ${response.text}`);
}
