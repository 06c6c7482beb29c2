const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * The last string found to be a UUID: a request checks its session's id some nine times on its
 * way (the id hook, the limit, the ownership check, the cache keys), and a comparison with the
 * same string is cheaper than the pattern.
 */
let lastUuid = '';

export function isUuid(value: unknown): value is string {
  if (typeof value !== 'string') {
    return false;
  }
  if (value === lastUuid) {
    return true;
  }
  if (!UUID.test(value)) {
    return false;
  }
  lastUuid = value;
  return true;
}

const UPPER_CASE = /[A-F]/;

/**
 * One resource, one spelling (failure F15): a UUID in any case is the same id, and every key, lock
 * and query is built from its lower-case form. Anything that is not a UUID is returned unchanged
 * (and refused as such later). An id in lower case already is returned as it is, the same string:
 * toLowerCase() would make a copy at every call, and every map the copy met would hash it again.
 */
export function normaliseId<T>(value: T): T {
  return isUuid(value) && UPPER_CASE.test(value) ? (value.toLowerCase() as T) : value;
}
