import type { OpenAPIObject } from '@nestjs/swagger';

const REASONS: Readonly<Record<string, string>> = {
  '400': 'Bad Request',
  '401': 'Unauthorized',
  '403': 'Forbidden',
  '404': 'Not Found',
  '405': 'Method Not Allowed',
  '408': 'Request Timeout',
  '409': 'Conflict',
  '413': 'Payload Too Large',
  '422': 'Unprocessable Entity',
  '429': 'Too Many Requests',
  '503': 'Service Unavailable',
};

/** The code a status carries when its description names none. */
const DEFAULT_CODES: Readonly<Record<string, string>> = {
  '400': 'validation_failed',
  '401': 'invalid_token',
  '403': 'session_forbidden',
  '404': 'not_found',
  '409': 'conflict',
  '413': 'payload_too_large',
  '422': 'idempotency_key_reused',
  '429': 'rate_limited',
  '503': 'overloaded',
};

const MESSAGES: Readonly<Record<string, string>> = {
  validation_failed: 'content must be longer than or equal to 1 characters',
  invalid_token: 'The bearer token is not valid',
  session_forbidden: 'This session belongs to another user',
  memory_forbidden: 'This memory belongs to another user',
  admin_required: 'This route requires the admin role',
  not_found: 'Not found',
  memory_not_found: 'Memory not found',
  session_not_found: 'Session not found',
  message_not_found: 'Message not found',
  rate_limited: 'Too many requests; retry after the time in Retry-After',
  too_many_pending_replies: 'At most 3 replies may be pending at once; wait for one to complete',
  too_many_sessions: 'At most 10000 sessions per user; delete some first',
  too_many_memories: 'At most 1000 memories per user; forget some first',
  idempotency_key_reused: 'This idempotency key was used for a different message; use a fresh key per message',
  invalid_cursor: 'cursor is not a cursor this server made',
  overloaded: 'Overloaded; retry shortly',
};

const CODE = /\b[a-z]+(?:_[a-z]+)+\b/;

interface MediaObject {
  schema?: { $ref?: string };
  example?: unknown;
  examples?: unknown;
}

/**
 * Every error answer documented with an example of its own status and code (the first code its
 * description names), instead of the error schema's one example repeated under every status.
 */
export function withErrorExamples(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item as Record<string, { responses?: Record<string, unknown> }>)) {
      for (const [status, response] of Object.entries(operation?.responses ?? {})) {
        const json = (response as { content?: Record<string, MediaObject> }).content?.['application/json'];
        if (Number(status) < 400 || json === undefined || json.example !== undefined || json.examples !== undefined) {
          continue;
        }
        if (!json.schema?.$ref?.endsWith('/ErrorResponseDto')) {
          continue;
        }
        const description = (response as { description?: string }).description ?? '';
        const code = CODE.exec(description)?.[0] ?? DEFAULT_CODES[status] ?? 'error';
        json.example = {
          statusCode: Number(status),
          error: REASONS[status] ?? 'Error',
          message: MESSAGES[code] ?? description.split(':').at(-1)?.trim() ?? code,
          code,
          requestId: '0b8f7a52-2c1e-4f0e-9a7b-5d2f7b1c9e44',
        };
      }
    }
  }
  return document;
}
