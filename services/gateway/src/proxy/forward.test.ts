import { describe, expect, it } from 'vitest';
import { sidecarRefusal, type UpstreamRequest, withPublicInstance } from './forward.ts';

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

describe('sidecarRefusal', () => {
  const error = (message: string) => ({ errorCode: 'ERR_DIRECT_INVOKE', message });

  it('keeps the status of a request the sidecar refused', () => {
    expect(sidecarRefusal('queue', 404, error('method not found'))).toMatchObject({
      status: 404,
      type: 'not-found',
    });
    expect(sidecarRefusal('queue', 400, error('malformed request'))).toMatchObject({
      status: 400,
      type: 'bad-request',
    });
    expect(sidecarRefusal('queue', 403, error('access denied'))).toMatchObject({ status: 403 });
  });

  it('tells an unreachable service (503) and a slow one (504) from a failed call (502)', () => {
    expect(sidecarRefusal('queue', 500, error('failed to resolve address for queue'))).toMatchObject({
      status: 503,
    });
    expect(
      sidecarRefusal('queue', 500, error('rpc error: code = DeadlineExceeded desc = deadline exceeded')),
    ).toMatchObject({ status: 504 });
    expect(sidecarRefusal('queue', 500, error('something broke'))).toMatchObject({ status: 502 });
  });
});
