import { describe, expect, it } from 'vitest';
import { type UpstreamRequest, withPublicInstance } from './forward.ts';

const request = {
  app: 'queue',
  path: '/v1/queue/x/join',
  publicPath: '/api/v1/queue/x/join',
} as UpstreamRequest;
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).buffer as ArrayBuffer;

describe('withPublicInstance', () => {
  it("rewrites a service problem's instance to the public path", () => {
    const headers = new Headers({ 'content-type': 'application/problem+json', 'content-length': '99' });
    const out = withPublicInstance(encode({ status: 422, instance: '/v1/queue/x/join' }), headers, request);
    expect(JSON.parse(out as string)).toEqual({ status: 422, instance: '/api/v1/queue/x/join' });
    expect(headers.has('content-length')).toBe(false);
  });

  it('leaves other bodies alone', () => {
    const json = encode({ instance: '/v1/queue/x/join' });
    expect(withPublicInstance(json, new Headers({ 'content-type': 'application/json' }), request)).toBe(json);
    const other = encode({ instance: '/elsewhere' });
    expect(
      withPublicInstance(other, new Headers({ 'content-type': 'application/problem+json' }), request),
    ).toBe(other);
  });
});
