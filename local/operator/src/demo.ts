// What `npm start` sets up for a first visit, through the public API like anyone would: a demo
// administrator (an address the account service is told to make ADMIN, as an operator lists theirs in
// ADMIN_EMAILS) and, signed in as them, the demo show on sale — by the chart's own seed script, so a
// cluster's seed Job and a laptop's `npm start` put the same catalogue up. Running it again finds both.
import { type Show, seedDemoShow as seedShow, signInAdmin } from '../../../charts/reservex/files/seed.mjs';

export { DEMO_SHOW_TITLE } from '../../../charts/reservex/files/seed.mjs';

/**
 * The local demo administrator. Public and local-only: the account service makes this address
 * ADMIN only because `npm start` lists it in the account service's ADMIN_EMAILS.
 */
export const DEMO_ADMIN = {
  email: 'admin@reservex.local',
  password: 'local demo admin password',
} as const;

/** The demo show as the walkthrough names it. */
export type DemoShow = Omit<Show, 'id' | 'ticketTypes'> & {
  showId: string;
  ticketTypes: Show['ticketTypes'];
};

/** The ADMIN_EMAILS the account service gets: the demo administrator plus the operator's own list. */
export function adminEmails(operatorList: string | undefined): string {
  return [DEMO_ADMIN.email, ...(operatorList ?? '').split(',').map((e) => e.trim())]
    .filter((email) => email.length > 0)
    .join(',');
}

/** Signs the demo administrator up (a taken email is answered the same) and in; the token carries ADMIN. */
export function signInDemoAdmin(gatewayUrl: string): Promise<string> {
  return signInAdmin(gatewayUrl, DEMO_ADMIN);
}

/** Puts the demo show on sale through the gateway as the given administrator, unless it is there. */
export async function seedDemoShow(options: {
  gatewayUrl: string;
  accessToken: string;
  now?: Date;
}): Promise<DemoShow> {
  const show = await seedShow(options);
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
