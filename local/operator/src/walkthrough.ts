// The copy-paste booking `npm start` prints: sign up, log in, queue, reserve with the pass, then read
// the reservation's details and open its trace. JSON is read with `node -pe` so nothing beyond curl
// and node is needed.

export type WalkthroughShow = {
  showId: string;
  title: string;
  ticketTypes: { id: string; name: string; priceMinor: number; currency: string }[];
};

const field = (expression: string) =>
  `node -pe 'const j = JSON.parse(require("fs").readFileSync(0)); ${expression}'`;

export function walkthrough(options: {
  gatewayUrl: string;
  jaegerUiUrl: string;
  show: WalkthroughShow;
}): string[] {
  const { gatewayUrl, jaegerUiUrl, show } = options;
  const ticketType = show.ticketTypes[0];
  if (!ticketType) return [`The demo show "${show.title}" has no ticket type to book.`];
  const price = `${(ticketType.priceMinor / 100).toFixed(2)} ${ticketType.currency}`;
  return [
    `Book a "${ticketType.name}" ticket (${price}) for "${show.title}" — paste into another terminal:`,
    '',
    `  GW=${gatewayUrl}`,
    `  EMAIL="demo-$RANDOM@reservex.test"; PASSWORD="correct horse battery staple"`,
    `  curl -s -X POST $GW/api/v1/auth/signup -H 'content-type: application/json' \\`,
    `    -d "{\\"email\\":\\"$EMAIL\\",\\"password\\":\\"$PASSWORD\\"}"; echo`,
    `  TOKEN=$(curl -s -X POST $GW/api/v1/auth/login -H 'content-type: application/json' \\`,
    `    -d "{\\"email\\":\\"$EMAIL\\",\\"password\\":\\"$PASSWORD\\"}" | ${field('j.accessToken')})`,
    `  curl -s -X POST $GW/api/v1/queue/${show.showId}/join -H "authorization: Bearer $TOKEN"; echo`,
    '  # wait (at most a minute) until the waiting room admits you and hands out a pass',
    `  for i in $(seq 60); do PASS=$(curl -s $GW/api/v1/queue/${show.showId}/position -H "authorization: Bearer $TOKEN" \\`,
    `    | ${field('j.passToken ?? ""')}); [ -n "$PASS" ] && break; sleep 1; done`,
    `  ID=$(curl -s -X POST $GW/api/v1/reservations -H "authorization: Bearer $TOKEN" \\`,
    `    -H 'content-type: application/json' -H "idempotency-key: $(node -pe 'crypto.randomUUID()')" -H "x-pass-token: $PASS" \\`,
    `    -d '{"showId":"${show.showId}","ticketTypeId":"${ticketType.id}","quantity":1,"paymentMethod":{"token":"tok_success"}}' \\`,
    `    | ${field('j.id')})`,
    '  # the saga runs asynchronously: ask (at most a minute) until it is CONFIRMED or CANCELLED',
    `  for i in $(seq 60); do DETAILS=$(curl -s $GW/api/v1/reservations/$ID -H "authorization: Bearer $TOKEN"); \\`,
    `    case $(echo "$DETAILS" | ${field('j.status')}) in CONFIRMED|CANCELLED) break;; esac; sleep 1; done`,
    `  echo "$DETAILS" | ${field('JSON.stringify(j, null, 2)')}`,
    `  echo "trace: ${jaegerUiUrl}/trace/$(echo "$DETAILS" | ${field('j.traceId')})   or: npm run trace -- $ID"`,
    '',
    'The details show status, tickets and the timeline; the trace follows the saga across every service',
    '(every span with its attributes and events). Try paymentMethod token tok_declined to watch the compensations.',
  ];
}
