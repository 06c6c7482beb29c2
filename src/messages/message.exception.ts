import { DomainException } from '../common/domain.exception.js';

export enum MessageExceptionCode {
  MessageNotFound = 'message_not_found',
  ParentNotFound = 'parent_not_found',
  ReplyNotFound = 'reply_not_found',
  ReplyNotFinished = 'reply_not_finished',
  TooManyPendingReplies = 'too_many_pending_replies',
  IdempotencyKeyMismatch = 'idempotency_key_mismatch',
  IdempotencyKeyReused = 'idempotency_key_reused',
}

const MESSAGES: Record<MessageExceptionCode, string> = {
  [MessageExceptionCode.MessageNotFound]: 'Message not found',
  [MessageExceptionCode.ParentNotFound]: 'parentId is not a message of this session',
  [MessageExceptionCode.ReplyNotFound]: 'No reply with this id in this session',
  [MessageExceptionCode.ReplyNotFinished]:
    'Only a finished reply (complete, failed, stopped or superseded) can be regenerated; stop it first',
  [MessageExceptionCode.TooManyPendingReplies]: 'Too many replies are pending; wait for one to complete',
  [MessageExceptionCode.IdempotencyKeyMismatch]: 'clientMessageId and the Idempotency-Key header differ',
  [MessageExceptionCode.IdempotencyKeyReused]:
    'This idempotency key was used for a different message; use a fresh key for every new message',
};

export class MessageException extends DomainException {
  constructor(code: MessageExceptionCode, message: string = MESSAGES[code], retryAfterSeconds?: number) {
    super(code, message, retryAfterSeconds);
  }
}
