import { DomainException } from '../common/domain.exception.js';

export enum ReplyExceptionCode {
  ReplyNotFound = 'reply_not_found',
  ReplyFinished = 'reply_finished',
  ControlUnavailable = 'reply_control_unavailable',
}

const MESSAGES: Record<ReplyExceptionCode, string> = {
  [ReplyExceptionCode.ReplyNotFound]: 'No reply with this id in this session',
  [ReplyExceptionCode.ReplyFinished]: 'The reply is already finished (complete, failed, stopped or superseded)',
  [ReplyExceptionCode.ControlUnavailable]: 'The reply cannot be stopped right now; please try again',
};

export class ReplyException extends DomainException {
  constructor(code: ReplyExceptionCode, message: string = MESSAGES[code]) {
    super(code, message);
  }
}
