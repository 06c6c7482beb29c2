import { DomainException } from '../common/domain.exception.js';

export enum MessageExceptionCode {
  MessageNotFound = 'message_not_found',
  TooManyPendingReplies = 'too_many_pending_replies',
  IdempotencyKeyMismatch = 'idempotency_key_mismatch',
}

const MESSAGES: Record<MessageExceptionCode, string> = {
  [MessageExceptionCode.MessageNotFound]: 'Message not found',
  [MessageExceptionCode.TooManyPendingReplies]: 'Too many replies are pending; wait for one to complete',
  [MessageExceptionCode.IdempotencyKeyMismatch]: 'clientMessageId and the Idempotency-Key header differ',
};

export class MessageException extends DomainException {
  constructor(code: MessageExceptionCode, message: string = MESSAGES[code]) {
    super(code, message);
  }
}
