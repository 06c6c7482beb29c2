/**
 * Recognises a send that repeats an earlier one (same idempotency key, same session and owner),
 * so that the limiter can let it through uncounted: asked before counting while the limits' store
 * is away, and at the limit for a repeat that found no mark of its send there. Provided by the messages module and handed to
 * the throttle module by the app (ThrottleModule.forRoot).
 */
export abstract class SendRetryDetector {
  /** `sessionId` null: a send that creates its session (POST /v1/chat/send without one). */
  abstract isRetry(sessionId: string | null, ownerId: string, clientMessageId: string): Promise<boolean>;
}
