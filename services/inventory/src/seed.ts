// The demo show `npm start` puts on sale: created through the gateway by an administrator who signs in
// like anyone else (an account whose email is in account's ADMIN_EMAILS), once — a second run finds it
// and returns it. Nothing here speaks to a service behind the gateway.
//
//   SEED_ADMIN_EMAIL=… SEED_ADMIN_PASSWORD=… node services/inventory/src/seed.ts http://<gateway>
//
// prints the show as JSON; `seedDemoShow` does the same for a caller in-process.

export const DEMO_SHOW_TITLE = 'ReserveX Live: Demo Night';

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

const json = { 'content-type': 'application/json' };

export type SeedAdmin = { email: string; password: string };

type ShowBody = {
  id: string;
  title: string;
  venue: string;
  startsAt: string;
  ticketTypes: DemoShow['ticketTypes'];
};

/** Signs the administrator up (a no-op when the account exists) and in; returns its access token. */
async function signIn(base: string, admin: SeedAdmin): Promise<string> {
  const body = JSON.stringify(admin);
  const signup = await fetch(`${base}/api/v1/auth/signup`, {
    method: 'POST',
    headers: json,
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (signup.status >= 500) throw new Error(`sign-up: HTTP ${signup.status} ${await signup.text()}`);
  const session = await request<{ accessToken: string; roles: string[] }>(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: json,
    body,
  });
  if (!session.roles.includes('ADMIN')) {
    throw new Error(`${admin.email} is not an administrator: add it to account's ADMIN_EMAILS`);
  }
  return session.accessToken;
}

export async function seedDemoShow(options: {
  gatewayUrl: string;
  admin: SeedAdmin;
  now?: Date;
}): Promise<DemoShow> {
  const base = options.gatewayUrl.replace(/\/+$/, '');
  const now = options.now ?? new Date();
  const found = await findByTitle(base, DEMO_SHOW_TITLE);
  if (found) return demoShowOf(found);

  const accessToken = await signIn(base, options.admin);
  const created = await request<ShowBody>(`${base}/api/v1/shows`, {
    method: 'POST',
    headers: { ...json, authorization: `Bearer ${accessToken}` },
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
  return demoShowOf(created);
}

async function findByTitle(base: string, title: string): Promise<ShowBody | undefined> {
  const limit = 100;
  for (let offset = 0; offset < 100_000; offset += limit) {
    const page = await request<{ shows: ShowBody[] }>(
      `${base}/api/v1/shows?limit=${limit}&offset=${offset}`,
      {
        method: 'GET',
      },
    );
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

async function request<T>(url: string, init: RequestInit): Promise<T> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method} ${url}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

if (import.meta.main) {
  const url = process.argv[2] ?? process.env.GATEWAY_URL;
  const email = process.env.SEED_ADMIN_EMAIL;
  const password = process.env.SEED_ADMIN_PASSWORD;
  if (!url || !email || !password) {
    process.stderr.write(
      'usage: SEED_ADMIN_EMAIL=… SEED_ADMIN_PASSWORD=… node services/inventory/src/seed.ts <gateway base URL> (or GATEWAY_URL)\n',
    );
    process.exit(2);
  }
  const show = await seedDemoShow({ gatewayUrl: url, admin: { email, password } });
  process.stdout.write(`${JSON.stringify(show, null, 2)}\n`);
}
