/**
 * Recognises a send that repeats an earlier one (same idempotency key, same session and owner),
 * so that the limiter can let it through uncounted. Provided by the messages module and handed to
 * the throttle module by the app (ThrottleModule.forRoot).
 */
export abstract class SendRetryDetector {
  abstract isRetry(sessionId: string, ownerId: string, clientMessageId: string): Promise<boolean>;
}
