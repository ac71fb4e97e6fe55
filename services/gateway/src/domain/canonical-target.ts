// One canonical form of the request target before anything routes on it. The allow-list of public
// routes compares path segments; whatever a segment decodes to further down (the sidecar, the
// service's router) must be what the gateway approved. So a segment may not decode into a separator
// (`%2F`, `%5C`), a dot segment (`..`, `%2e%2e`), a query or fragment delimiter (`%3F`, `%23`), a
// control character (`%00`), an encoded `%` (`%25`: the sidecar decodes the path once before the
// service's router decodes it again, so `%252F` would reach the service as `/`, and a lone `%` cannot
// be forwarded at all) or bytes that are not UTF-8. Header values get the same treatment: the
// sidecar carries headers as gRPC metadata, which holds visible ASCII only.

export type TargetVerdict = { ok: true; path: string; search: string } | { ok: false; detail: string };

const rawPathCharacter = /^[\x21-\x7e]*$/;
const absoluteForm = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decoded bytes a path segment may not contain, whichever way they were written. */
function forbiddenInSegment(byte: number): string | undefined {
  if (byte < 0x20 || byte === 0x7f) return 'a control character';
  if (byte === 0x2f || byte === 0x5c) return 'an encoded path separator';
  if (byte === 0x3f || byte === 0x23) return 'an encoded ? or #';
  return undefined;
}

function percentDecoded(text: string): Uint8Array | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char !== 0x25) {
      bytes.push(char);
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[\da-f]{2}$/i.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Uint8Array.from(bytes);
}

const encodedPercent = /%25/i;

function segmentProblem(segment: string): string | undefined {
  const bytes = percentDecoded(segment);
  if (!bytes) return 'a malformed percent-encoding';
  if (encodedPercent.test(segment)) return 'an encoded %';
  for (const byte of bytes) {
    const why = forbiddenInSegment(byte);
    if (why) return why;
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return 'bytes that are not UTF-8';
  }
  if (text === '.' || text === '..') return 'a dot segment';
  return undefined;
}

function queryProblem(query: string): string | undefined {
  for (const part of query.split(/[&=]/)) {
    const bytes = percentDecoded(part.replaceAll('+', ' '));
    if (!bytes) return 'a malformed percent-encoding';
    if (bytes.some((byte) => byte < 0x20 || byte === 0x7f)) return 'a control character';
    try {
      utf8.decode(bytes);
    } catch {
      return 'bytes that are not UTF-8';
    }
  }
  return undefined;
}

/**
 * The request target as the client sent it (`/api/v1/shows/abc?limit=5`, before any decoding or
 * dot-segment removal) checked against the canonical form: the path and query unchanged when they
 * pass, the reason otherwise.
 */
export function canonicalTarget(raw: string): TargetVerdict {
  const target = raw.replace(absoluteForm, '');
  if (!target.startsWith('/')) return { ok: false, detail: 'the request path must start with /' };
  if (target.includes('#')) return { ok: false, detail: 'the request target contains a fragment' };
  const queryAt = target.indexOf('?');
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  const search = queryAt < 0 ? '' : target.slice(queryAt);
  if (!rawPathCharacter.test(target))
    return { ok: false, detail: 'the request target contains spaces, control or non-ASCII characters' };
  if (path.includes('\\')) return { ok: false, detail: 'the request path contains a backslash' };
  const segments = path.slice(1).split('/');
  for (const [index, segment] of segments.entries()) {
    const why = segmentProblem(segment);
    if (why) return { ok: false, detail: `path segment ${index + 1} contains ${why}` };
  }
  const inQuery = search.length > 1 ? queryProblem(search.slice(1)) : undefined;
  if (inQuery) return { ok: false, detail: `the query contains ${inQuery}` };
  return { ok: true, path, search: search === '?' ? '' : search };
}

const headerValue = /^[\t\x20-\x7e]*$/;

/** The first header (by name) whose value the sidecar cannot carry: bytes outside visible ASCII. */
export function uncarriableHeader(headers: Headers): string | undefined {
  for (const [name, value] of headers) {
    if (!headerValue.test(value)) return name;
  }
  return undefined;
}
