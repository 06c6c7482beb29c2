export const LLM_ERROR_KINDS = ['timeout', 'rate_limited', 'server', 'client', 'stream'] as const;
export type LlmErrorKind = (typeof LLM_ERROR_KINDS)[number];

const USER_MESSAGES: Record<LlmErrorKind, [code: string, message: string]> = {
  timeout: ['upstream_timeout', 'The model took too long to answer. Please try again.'],
  rate_limited: ['upstream_rate_limited', 'The model is busy right now. Please try again in a moment.'],
  server: ['upstream_unavailable', 'The model is unavailable right now. Please try again later.'],
  client: ['upstream_rejected', 'The model refused this request.'],
  stream: ['upstream_stream_broken', 'The answer was interrupted. Please try again.'],
};

/**
 * The statuses by which a provider refuses a request for what it holds (its content, its size):
 * the same request is refused again however often it is sent. 401, 403 and 404 are refusals of
 * the deployment (its key, its permissions, its model), which its operator fixes.
 */
const REFUSED_CONTENT_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);

/**
 * An upstream model failure, classified. Transient kinds (timeout, 429, 5xx, a cut stream) are
 * worth retrying with backoff; a client error (other 4xx) fails the reply at once.
 */
export class LlmError extends Error {
  readonly code: string;
  readonly userMessage: string;

  constructor(
    readonly kind: LlmErrorKind,
    detail: string,
    readonly retryAfterMs?: number,
    /** The provider's HTTP status, when it answered with one. */
    readonly status?: number,
  ) {
    super(`${kind}: ${detail}`);
    this.name = 'LlmError';
    [this.code, this.userMessage] = USER_MESSAGES[kind];
  }

  get transient(): boolean {
    return this.kind !== 'client';
  }

  /** The provider refused this very request for what it holds: asking again is refused again. */
  get refusesContent(): boolean {
    return this.kind === 'client' && this.status !== undefined && REFUSED_CONTENT_STATUSES.has(this.status);
  }
}
