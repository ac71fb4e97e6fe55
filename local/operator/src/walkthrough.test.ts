import { describe, expect, it } from 'vitest';
import { walkthrough } from './walkthrough.ts';

const show = {
  showId: '0b2f2c9e-8a7d-4c1e-9d62-2f7a5c3e9b10',
  title: 'Demo Night',
  ticketTypes: [
    { id: '5a1c9e3b-6d2f-4b8a-8c7e-1f0e2d3c4b5a', name: 'Standing', priceMinor: 4500, currency: 'EUR' },
  ],
};

describe('the npm start walkthrough', () => {
  const lines = walkthrough({
    gatewayUrl: 'http://127.0.0.1:4000',
    jaegerUiUrl: 'http://127.0.0.1:16686',
    show,
  });
  const text = lines.join('\n');

  it('books through the gateway only, every step of the journey in order', () => {
    const steps = [
      '/api/v1/auth/signup',
      '/api/v1/auth/login',
      '/join',
      '/position',
      '/api/v1/reservations',
      '$ID',
    ];
    const positions = steps.map((step) => text.indexOf(step));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(text).toContain('GW=http://127.0.0.1:4000');
    expect(text).not.toMatch(/127\.0\.0\.1:(?!4000|16686)\d+/);
  });

  it('reserves the show and ticket type it was given, with a pass and an idempotency key', () => {
    expect(text).toContain(`"showId":"${show.showId}"`);
    expect(text).toContain(`"ticketTypeId":"${show.ticketTypes[0]?.id}"`);
    expect(text).toContain('x-pass-token: $PASS');
    expect(text).toContain('idempotency-key:');
    expect(text).toContain('45.00 EUR');
  });

  it('says so when the show has nothing to book', () => {
    expect(walkthrough({ gatewayUrl: 'g', jaegerUiUrl: 'j', show: { ...show, ticketTypes: [] } })).toEqual([
      'The demo show "Demo Night" has no ticket type to book.',
    ]);
  });
});
