// One canonical JSON form: every object's members in sorted key order, members whose value is
// undefined left out (as JSON.stringify leaves them out). Two encoders that order members differently,
// such as a sidecar re-encoding an event, give the same text. What signatures cover, and what the
// services compare requests and events by.

/** The value with every object's keys in sorted order (UTF-16 code unit order). */
export function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** The canonical JSON text of a value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedKeys(value));
}
