import { HttpStatus } from '@nestjs/common';
import { DomainException } from '../common/domain.exception.js';

export enum ReplyExceptionCode {
  ReplyNotFound = 'reply_not_found',
  ReplyFinished = 'reply_finished',
  ControlUnavailable = 'reply_control_unavailable',
}

const DETAILS: Record<ReplyExceptionCode, [HttpStatus, string]> = {
  [ReplyExceptionCode.ReplyNotFound]: [HttpStatus.NOT_FOUND, 'No reply with this id in this session'],
  [ReplyExceptionCode.ReplyFinished]: [HttpStatus.CONFLICT, 'The reply is already finished (complete, failed, stopped or superseded)'],
  [ReplyExceptionCode.ControlUnavailable]: [HttpStatus.SERVICE_UNAVAILABLE, 'The reply cannot be stopped right now; please try again'],
};

export class ReplyException extends DomainException {
  constructor(code: ReplyExceptionCode) {
    const [status, message] = DETAILS[code];
    super(code, status, message, code === ReplyExceptionCode.ControlUnavailable ? { 'retry-after': '1' } : {});
  }
}
