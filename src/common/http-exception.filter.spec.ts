import { describe, expect, it } from 'vitest';
import { AccessException, AccessExceptionCode } from '../access/access.exception.js';
import { AuthException, AuthExceptionCode } from '../auth/auth.exception.js';
import { MemoryException, MemoryExceptionCode } from '../memory/memory.exception.js';
import { MessageException, MessageExceptionCode } from '../messages/message.exception.js';
import { EventsException, EventsExceptionCode } from '../events/events.exception.js';
import { ReplyException, ReplyExceptionCode } from '../replies/reply.exception.js';
import { SearchException, SearchExceptionCode } from '../search/search.exception.js';
import { SessionException, SessionExceptionCode } from '../session/session.exception.js';
import { CommonException, CommonExceptionCode, type DomainException } from './domain.exception.js';
import { DOMAIN_STATUS, toErrorShape } from './http-exception.filter.js';

const EVERY_EXCEPTION: ReadonlyArray<DomainException> = [
  ...Object.values(CommonExceptionCode).map((code) => new CommonException(code)),
  ...Object.values(AuthExceptionCode).map((code) => new AuthException(code)),
  ...Object.values(AccessExceptionCode).map((code) => new AccessException(code)),
  ...Object.values(SessionExceptionCode).map((code) => new SessionException(code)),
  ...Object.values(MemoryExceptionCode).map((code) => new MemoryException(code)),
  ...Object.values(MessageExceptionCode).map((code) => new MessageException(code)),
  ...Object.values(ReplyExceptionCode).map((code) => new ReplyException(code)),
  ...Object.values(EventsExceptionCode).map((code) => new EventsException(code)),
  ...Object.values(SearchExceptionCode).map((code) => new SearchException(code)),
];

describe('domain codes to HTTP', () => {
  it.each(EVERY_EXCEPTION.map((exception) => [exception.code, exception] as const))(
    '%s has a status of its own (4xx, or 503 while a dependency is away) and keeps its code and message',
    (code, exception) => {
      expect(DOMAIN_STATUS[code]).toBeDefined();
      const shape = toErrorShape(exception);
      expect(shape.status === 503 || (shape.status >= 400 && shape.status < 500)).toBe(true);
      expect(shape.code).toBe(code);
      expect(shape.message).toBe(exception.message);
    },
  );

  it('answers the contract statuses and headers', () => {
    expect(toErrorShape(new AccessException(AccessExceptionCode.SessionForbidden)).status).toBe(403);
    expect(toErrorShape(new AccessException(AccessExceptionCode.SessionNotFound)).status).toBe(404);
    expect(toErrorShape(new AuthException(AuthExceptionCode.AdminRequired)).status).toBe(403);
    expect(toErrorShape(new AuthException(AuthExceptionCode.InvalidToken))).toMatchObject({
      status: 401,
      headers: { 'www-authenticate': 'Bearer' },
    });
    expect(toErrorShape(new MessageException(MessageExceptionCode.TooManyPendingReplies))).toMatchObject({
      status: 429,
      headers: { 'retry-after': '1' },
    });
    expect(toErrorShape(new MemoryException(MemoryExceptionCode.TooMany)).status).toBe(409);
  });
});
