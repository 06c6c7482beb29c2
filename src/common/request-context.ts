import { randomUUID } from 'node:crypto';
import { CLS_ID, type ClsService, type ClsStore } from 'nestjs-cls';

/** Per-request state. It lives in CLS (AsyncLocalStorage), never in a provider's fields. */
export interface ParleyClsStore extends ClsStore {
  userId?: string;
  sessionId?: string;
  startedAt: number;
  /** Cache versions read by this request, by counter: read once, used by every look-up of the request. */
  cacheVersions?: Map<string, Promise<string | null>>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID.test(value);
}

/** Keeps a valid incoming X-Request-Id, otherwise makes one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return isValidRequestId(header) ? header : randomUUID();
}

/** Runs a queued job's work in a context of its own: the request id and session of the send it serves. */
export function runInJobContext<T>(
  cls: ClsService<ParleyClsStore>,
  job: { requestId: string; sessionId: string },
  work: () => Promise<T>,
): Promise<T> {
  return cls.run(() => {
    cls.set(CLS_ID, job.requestId);
    cls.set('sessionId', job.sessionId);
    cls.set('startedAt', Date.now());
    return work();
  });
}
