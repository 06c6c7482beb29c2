import { Injectable } from '@nestjs/common';
import type { OwnedResource } from '../access/access.service.js';
import { SessionException, SessionExceptionCode } from './session.exception.js';
import type { SessionEntity } from './session.entity.js';
import { SessionRepository, type SessionCursor } from './session.repository.js';

export interface SessionPage {
  items: SessionEntity[];
  nextCursor: string | null;
}

const DEFAULT_PAGE_SIZE = 20;

export function encodeCursor(session: SessionEntity): string {
  return Buffer.from(JSON.stringify([session.createdAt.getTime(), session.id])).toString('base64url');
}

export function decodeCursor(cursor: string): SessionCursor {
  try {
    const [time, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof time === 'number' && Number.isSafeInteger(time) && typeof id === 'string' && id.length === 36) {
      return { createdAt: new Date(time), id };
    }
  } catch {
    // falls through to the domain error below
  }
  throw new SessionException(SessionExceptionCode.InvalidCursor);
}

@Injectable()
export class SessionService {
  constructor(private readonly sessions: SessionRepository) {}

  create(ownerId: string, title: string | undefined): Promise<SessionEntity> {
    return this.sessions.create(ownerId, title ?? null);
  }

  async list(ownerId: string, limit = DEFAULT_PAGE_SIZE, cursor?: string): Promise<SessionPage> {
    const after = cursor === undefined ? null : decodeCursor(cursor);
    const rows = await this.sessions.listByOwner(ownerId, limit, after);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }

  async get(session: OwnedResource): Promise<SessionEntity> {
    const found = await this.sessions.findById(session.id);
    if (found === null) {
      throw new SessionException(SessionExceptionCode.NotFound);
    }
    return found;
  }

  async rename(session: OwnedResource, title: string): Promise<SessionEntity> {
    const renamed = await this.sessions.rename(session.id, session.ownerId, title);
    if (renamed === null) {
      throw new SessionException(SessionExceptionCode.NotFound);
    }
    return renamed;
  }

  async remove(session: OwnedResource): Promise<void> {
    if (!(await this.sessions.delete(session.id, session.ownerId))) {
      throw new SessionException(SessionExceptionCode.NotFound);
    }
  }
}
