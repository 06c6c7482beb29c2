export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A small JSON client over fetch for the tests. */
export async function http<T = any>(method: string, url: string, options: RequestOptions = {}): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) {
    headers.authorization = `Bearer ${options.token}`;
  }
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text !== '' && response.headers.get('content-type')?.includes('json')) {
    parsed = JSON.parse(text);
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * `http` as a client that honours load shedding: a request answered 503 `overloaded` is sent again
 * after its Retry-After, until `patienceMs` has passed. For servers that run with the default
 * shedding thresholds on a machine the rest of the suite keeps busy, where a shed request is the
 * contract working, not a failure. Sends must carry an Idempotency-Key, so that a retry is the same send.
 */
export async function httpHonouringOverload<T = any>(
  method: string,
  url: string,
  options: RequestOptions = {},
  patienceMs = 60_000,
): Promise<HttpResult<T>> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    const result = await http<T>(method, url, options);
    const shed = result.status === 503 && (result.body as { code?: unknown } | undefined)?.code === 'overloaded';
    if (!shed || Date.now() > deadline) {
      return result;
    }
    const retryAfterS = Number(result.headers.get('retry-after') ?? '1');
    await new Promise((resolve) => setTimeout(resolve, (Number.isFinite(retryAfterS) ? retryAfterS : 1) * 1000));
  }
}
