import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CLS_ID, type ClsService, type ClsStore } from 'nestjs-cls';

/** A cache version that a read under way will give: the `index`th of its versions (see CacheService). */
export interface NotedVersion {
  readonly read: Promise<string[] | null | 'missing'>;
  readonly index: number;
}

/** Per-request state. It lives in CLS (AsyncLocalStorage), never in a provider's fields. */
export interface ParleyClsStore extends ClsStore {
  userId?: string;
  sessionId?: string;
  startedAt: number;
  /** Cache versions read by this request, by counter: read once, used by every look-up of the request. */
  cacheVersions?: Map<string, Promise<string | null> | NotedVersion>;
  /** The versions among those that have arrived already, for a look-up that needs no await (CacheService.cachedNow). */
  knownCacheVersions?: Map<string, string>;
  /** What a send did: stored a new exchange, or found the one its idempotency key names. */
  sendOutcome?: 'created' | 'repeated';
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

/**
 * Opens each request's context (its id, when it started) in the first Fastify hook, around the
 * rest of the request: hooks, guards, interceptors, the handler and what they start. Done here
 * rather than by nestjs-cls's middleware, which Nest runs on Fastify through a middleware engine
 * and a chain of awaited plugin steps Parley does not use: that cost about a third of the
 * throughput of a route that does nothing else.
 */
export function registerRequestContext(fastify: FastifyInstance, cls: ClsService<ParleyClsStore>): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    cls.runWith({ [CLS_ID]: request.id, startedAt: Date.now() }, () => done());
  });
}

/**
 * The current context's store, whose fields the request's hot path sets and reads directly:
 * ClsService.set() and get() with a key parse it as a dotted path on every call. Throws outside
 * a context, as ClsService.set() does.
 */
export function currentStore(cls: ClsService<ParleyClsStore>): ParleyClsStore {
  const store = cls.get() as ParleyClsStore | undefined;
  if (store === undefined) {
    throw new Error('No CLS context: the request context hook or runInJobContext sets one up');
  }
  return store;
}
