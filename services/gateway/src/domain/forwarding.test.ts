import { describe, expect, it } from 'vitest';
import { clientAddressOf, clientResponseHeaders, upstreamRequestHeaders } from './forwarding.ts';

describe('upstreamRequestHeaders', () => {
  it('drops credentials, identity, Dapr routing, forwarding, trace and hop-by-hop headers the client sent', () => {
    const incoming = new Headers({
      'content-type': 'application/json',
      'idempotency-key': 'k1',
      'x-pass-token': 'p',
      authorization: 'Bearer t',
      'x-user-id': 'someone-else',
      'X-User-Roles': 'ADMIN',
      'x-user-email': 'x@example.com',
      'dapr-app-id': 'payment',
      'x-forwarded-for': '6.6.6.6',
      forwarded: 'for=6.6.6.6',
      traceparent: '00-11111111111111111111111111111111-2222222222222222-01',
      connection: 'keep-alive',
      'content-length': '12',
      host: 'evil',
    });
    const out = upstreamRequestHeaders(incoming, { 'x-user-id': 'u1', 'x-forwarded-for': '10.0.0.1' });
    expect(Object.fromEntries(out)).toEqual({
      'content-type': 'application/json',
      'idempotency-key': 'k1',
      'x-pass-token': 'p',
      'x-user-id': 'u1',
      'x-forwarded-for': '10.0.0.1',
    });
  });
});

describe('clientResponseHeaders', () => {
  it('passes content headers and drops connection-level ones', () => {
    const out = clientResponseHeaders(
      new Headers({
        'content-type': 'application/json',
        'retry-after': '3',
        connection: 'close',
        'dapr-x': '1',
      }),
    );
    expect(Object.fromEntries(out)).toEqual({ 'content-type': 'application/json', 'retry-after': '3' });
  });
});

describe('clientAddressOf', () => {
  it('uses the socket peer when no proxy is trusted, whatever the client claims', () => {
    expect(clientAddressOf('::ffff:127.0.0.1', '6.6.6.6', 0)).toBe('127.0.0.1');
  });

  it('takes the entry the trusted proxy appended', () => {
    expect(clientAddressOf('10.0.0.9', '6.6.6.6, 203.0.113.7', 1)).toBe('203.0.113.7');
    expect(clientAddressOf('10.0.0.9', '203.0.113.7', 2)).toBe('203.0.113.7');
    expect(clientAddressOf('10.0.0.9', null, 1)).toBe('10.0.0.9');
  });
});
