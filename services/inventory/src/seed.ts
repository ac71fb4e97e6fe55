// The demo show `npm start` puts on sale: created through inventory's own admin API (as an admin the
// gateway authenticated would), once — a second run finds it and returns it.
//
//   node services/inventory/src/seed.ts http://127.0.0.1:<inventory port>
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

const adminHeaders = {
  'content-type': 'application/json',
  'x-user-id': 'seed',
  'x-user-roles': 'ADMIN',
};

type ShowBody = {
  id: string;
  title: string;
  venue: string;
  startsAt: string;
  ticketTypes: DemoShow['ticketTypes'];
};

export async function seedDemoShow(options: { inventoryUrl: string; now?: Date }): Promise<DemoShow> {
  const base = options.inventoryUrl.replace(/\/+$/, '');
  const now = options.now ?? new Date();
  const found = await findByTitle(base, DEMO_SHOW_TITLE);
  if (found) return demoShowOf(found);

  const created = await request<ShowBody>(`${base}/v1/shows`, {
    method: 'POST',
    headers: adminHeaders,
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
    const page = await request<{ shows: ShowBody[] }>(`${base}/v1/shows?limit=${limit}&offset=${offset}`, {
      method: 'GET',
    });
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
  const url = process.argv[2] ?? process.env.INVENTORY_URL;
  if (!url) {
    process.stderr.write(
      'usage: node services/inventory/src/seed.ts <inventory base URL> (or INVENTORY_URL)\n',
    );
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(await seedDemoShow({ inventoryUrl: url }), null, 2)}\n`);
}
