/**
 * Rejects when `promise` takes longer than `ms`: a slow Redis or queue must not hold a request or
 * a scrape up. The late promise's own rejection is absorbed, so it is never unhandled. One promise
 * and one timer per call (it sits on every cached read's version look-up).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: Error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
