// Which request headers travel from the client to the service, and which response headers travel
// back. Hop-by-hop headers belong to one connection; identity and Dapr routing headers may only be
// set by the gateway itself; the client address is recomputed, never trusted as sent.
import { USER_ID_HEADER, USER_ROLES_HEADER } from './identity.ts';

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

const gatewayOwned = new Set([
  USER_ID_HEADER,
  USER_ROLES_HEADER,
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'forwarded',
  'x-real-ip',
  'traceparent',
  'tracestate',
  // The gateway verified the token and says who the caller is; services never see the credential.
  'authorization',
  'cookie',
]);

function droppedOnRequest(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    hopByHop.has(lower) || gatewayOwned.has(lower) || lower.startsWith('dapr-') || lower.startsWith('x-user-')
  );
}

/** The headers to send upstream: the client's, minus what it may not set, plus the gateway's own. */
export function upstreamRequestHeaders(incoming: Headers, own: Record<string, string>): Headers {
  const headers = new Headers();
  incoming.forEach((value, name) => {
    if (!droppedOnRequest(name)) headers.set(name, value);
  });
  for (const [name, value] of Object.entries(own)) headers.set(name, value);
  return headers;
}

/** The upstream response headers a client may see. */
export function clientResponseHeaders(upstream: Headers): Headers {
  const headers = new Headers();
  upstream.forEach((value, name) => {
    const lower = name.toLowerCase();
    if (hopByHop.has(lower) || lower.startsWith('dapr-') || lower === 'traceparent') return;
    headers.append(name, value);
  });
  return headers;
}

/**
 * The client's address: the socket peer, or when the gateway runs behind `trustedHops` proxies
 * (an ingress), the entry those proxies appended to X-Forwarded-For. Entries further left were
 * written by the client and are not believed.
 */
export function clientAddressOf(
  socketAddress: string | undefined,
  forwardedFor: string | null,
  trustedHops: number,
): string {
  const peer = normaliseAddress(socketAddress ?? 'unknown');
  if (trustedHops <= 0 || !forwardedFor) return peer;
  const chain = forwardedFor
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const index = chain.length - trustedHops;
  const candidate = index >= 0 ? chain[index] : chain[0];
  return candidate ? normaliseAddress(candidate) : peer;
}

function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
