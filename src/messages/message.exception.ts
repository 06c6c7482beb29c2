import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum ChatExceptionCode {
  MessageNotFound = 'message_not_found',
  ParentNotFound = 'parent_not_found',
  ReplyNotFound = 'reply_not_found',
  ReplyNotFinished = 'reply_not_finished',
  TooManyPendingReplies = 'too_many_pending_replies',
  IdempotencyKeyMismatch = 'idempotency_key_mismatch',
  IdempotencyKeyReused = 'idempotency_key_reused',
}

export class ChatException extends DomainException {
  static messageNotFound(): ChatException {
    return new ChatException(ChatExceptionCode.MessageNotFound, HttpStatus.NOT_FOUND, 'Message not found');
  }

  static parentNotFound(): ChatException {
    return new ChatException(ChatExceptionCode.ParentNotFound, HttpStatus.NOT_FOUND, 'parentId is not a message of this session');
  }

  static replyNotFound(): ChatException {
    return new ChatException(ChatExceptionCode.ReplyNotFound, HttpStatus.NOT_FOUND, 'No reply with this id in this session');
  }

  static replyNotFinished(): ChatException {
    return new ChatException(
      ChatExceptionCode.ReplyNotFinished,
      HttpStatus.CONFLICT,
      'Only a finished reply (complete, failed, stopped or superseded) can be regenerated; stop it first',
    );
  }

  static tooManyPendingReplies(max: number): ChatException {
    return new ChatException(
      ChatExceptionCode.TooManyPendingReplies,
      HttpStatus.TOO_MANY_REQUESTS,
      `At most ${max} replies may be pending at once; wait for one to complete`,
      { 'retry-after': '1' },
    );
  }

  static idempotencyKeyMismatch(): ChatException {
    return new ChatException(
      ChatExceptionCode.IdempotencyKeyMismatch,
      HttpStatus.BAD_REQUEST,
      'clientMessageId and the Idempotency-Key header differ',
    );
  }

  static idempotencyKeyReused(): ChatException {
    return new ChatException(
      ChatExceptionCode.IdempotencyKeyReused,
      HttpStatus.UNPROCESSABLE_ENTITY,
      'This idempotency key was used for a different message; use a fresh key for every new message',
    );
  }
}
