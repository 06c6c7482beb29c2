const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * One resource, one spelling (failure F15): a UUID in any case is the same id, and every key, lock
 * and query is built from its lower-case form. Anything that is not a UUID is returned unchanged
 * (and refused as such later).
 */
export function normaliseId<T>(value: T): T {
  return isUuid(value) ? (value.toLowerCase() as T) : value;
}
