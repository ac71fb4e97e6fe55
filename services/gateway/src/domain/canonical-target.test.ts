import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalTarget, uncarriableHeader } from './canonical-target.ts';
import { createRouter } from './routes.ts';

const refused = (raw: string) => {
  const verdict = canonicalTarget(raw);
  expect(verdict.ok, raw).toBe(false);
  return verdict.ok ? '' : verdict.detail;
};

describe('canonicalTarget', () => {
  it('keeps an ordinary target as it was sent', () => {
    expect(canonicalTarget('/api/v1/shows/abc?limit=5&cursor=eyJ9')).toEqual({
      ok: true,
      path: '/api/v1/shows/abc',
      search: '?limit=5&cursor=eyJ9',
    });
    expect(canonicalTarget('/api/v1/shows/%C5%BFhow-%E2%9C%93')).toMatchObject({ ok: true });
    expect(canonicalTarget('http://gateway.example/api/v1/shows?')).toEqual({
      ok: true,
      path: '/api/v1/shows',
      search: '',
    });
  });

  it('refuses encoded separators, in either case', () => {
    expect(refused('/api/v1/shows/..%2F..%2Fopenapi.json')).toMatch(/separator/);
    expect(refused('/api/v1/shows/a%2fb')).toMatch(/separator/);
    expect(refused('/api/v1/shows/a%5Cb')).toMatch(/separator/);
    expect(refused('/api/v1/shows/a\\b')).toMatch(/backslash/);
  });

  it('refuses dot segments, plain or encoded', () => {
    for (const raw of [
      '/api/v1/shows/../../dapr/subscribe',
      '/api/v1/./shows',
      '/api/v1/shows/%2e%2e',
      '/api/v1/shows/%2E.',
      '/api/v1/shows/%2e',
    ]) {
      expect(refused(raw)).toMatch(/dot segment/);
    }
  });

  it('refuses NUL and control characters, ? and # hidden in a segment, an encoded %, and bytes that are not UTF-8', () => {
    expect(refused('/api/v1/shows/%00')).toMatch(/control/);
    expect(refused('/api/v1/shows/a%0Ab')).toMatch(/control/);
    expect(refused('/api/v1/shows/a%7F')).toMatch(/control/);
    expect(refused('/api/v1/shows/a%3Fb')).toMatch(/\?/);
    expect(refused('/api/v1/shows/a%23b')).toMatch(/#/);
    expect(refused('/api/v1/shows/%FF')).toMatch(/UTF-8/);
    expect(refused('/api/v1/shows/%ED%A0%80')).toMatch(/UTF-8/); // an encoded lone surrogate
    expect(refused('/api/v1/shows/%zz')).toMatch(/percent/);
    expect(refused('/api/v1/shows/abc%25')).toMatch(/encoded %/);
    expect(refused('/api/v1/shows/..%252F..%252Fopenapi.json')).toMatch(/encoded %/);
    expect(refused('/api/v1/shows/caf\u00e9')).toMatch(/non-ASCII/);
    expect(refused('/api/v1/shows#x')).toMatch(/fragment/);
    expect(refused('/api/v1/shows?cursor=%00')).toMatch(/query/);
    expect(refused('/api/v1/shows?cursor=%C3')).toMatch(/query/);
    expect(refused('*')).toMatch(/start with/);
  });

  it('never approves a target whose decoded path the router would see differently', () => {
    const match = createRouter();
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom('..', '.', '%2e%2E', '%2F', '%5c', '%00', '%3f', 'v1'),
            fc.string({
              unit: fc.constantFrom('a', '.', '%', '2', 'e', 'E', 'f', 'F', '5', 'c', '0', '3', '-', '~'),
              maxLength: 8,
            }),
          ),
          { maxLength: 6 },
        ),
        (segments) => {
          const raw = `/api/v1/shows/${segments.join('/')}`;
          const verdict = canonicalTarget(raw);
          if (!verdict.ok) return;
          // What a service decodes is what the gateway routed: same segments, none of them special.
          const decoded = verdict.path.split('/').map((s) => decodeURIComponent(s));
          expect(decoded.join('/')).toBe(decodeURIComponent(verdict.path));
          expect(decoded.some((s) => s === '.' || s === '..' || /[/\\?#\0]/.test(s))).toBe(false);
          // The sidecar decodes once before the service does: nothing is left for a second decoding.
          expect(decoded.some((s) => s.includes('%'))).toBe(false);
          expect(new URL(verdict.path, 'http://x').pathname).toBe(verdict.path);
          match('GET', verdict.path);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('uncarriableHeader', () => {
  it('names the first header holding bytes outside visible ASCII', () => {
    expect(
      uncarriableHeader(new Headers({ 'idempotency-key': 'abc-123', 'accept-language': 'de-CH, en;q=0.5' })),
    ).toBe(undefined);
    // Node hands header bytes over as latin1: UTF-8 "é" arrives as two characters above 0x7f.
    expect(uncarriableHeader(new Headers({ 'idempotency-key': 'caf\u00c3\u00a9' }))).toBe('idempotency-key');
    expect(uncarriableHeader(new Headers({ 'x-pass-token': 'a\u0001b' }))).toBe('x-pass-token');
  });
});
