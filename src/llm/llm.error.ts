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
  ) {
    super(`${kind}: ${detail}`);
    this.name = 'LlmError';
    [this.code, this.userMessage] = USER_MESSAGES[kind];
  }

  get transient(): boolean {
    return this.kind !== 'client';
  }
}
