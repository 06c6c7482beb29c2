import { Injectable } from '@nestjs/common';
import type { OwnedResource } from '../access/access.service.js';
import { isUuid } from '../common/uuid.util.js';
import { AppConfig } from '../config/app-config.js';
import { SessionDeletedListeners } from './session-deleted-listeners.service.js';
import { SessionException, SessionExceptionCode } from './session.exception.js';
import type { ReplyMode, SessionEntity } from './session.entity.js';
import { SessionRepository, type SessionCursor } from './session.repository.js';

export interface SessionPage {
  items: SessionEntity[];
  nextCursor: string | null;
}

const DEFAULT_PAGE_SIZE = 20;

/** The latest time a cursor may carry: JavaScript's last date (PostgreSQL's range is wider). */
const MAX_CURSOR_TIME = 8_640_000_000_000_000;

export function encodeCursor(session: SessionEntity): string {
  return Buffer.from(JSON.stringify([session.updatedAt.getTime(), session.id])).toString('base64url');
}

/**
 * Everything a cursor carries is checked here, before any SQL: a time the database can hold (from
 * 1970 on, as every session's) and a UUID, in lower case. Anything else is 400 `invalid_cursor`.
 */
export function decodeCursor(cursor: string): SessionCursor {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new SessionException(SessionExceptionCode.InvalidCursor);
  }
  if (Array.isArray(decoded) && decoded.length === 2) {
    const [time, id] = decoded as [unknown, unknown];
    if (typeof time === 'number' && Number.isSafeInteger(time) && time >= 0 && time <= MAX_CURSOR_TIME && isUuid(id)) {
      return { updatedAt: new Date(time), id: id.toLowerCase() };
    }
  }
  throw new SessionException(SessionExceptionCode.InvalidCursor);
}

@Injectable()
export class SessionService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly config: AppConfig,
    private readonly deletedListeners: SessionDeletedListeners,
  ) {}

  /** Refused with 409 `too_many_sessions` once the owner keeps MAX_SESSIONS_PER_USER. */
  async create(ownerId: string, title: string | undefined, replyMode: ReplyMode = 'each'): Promise<SessionEntity> {
    const session = await this.sessions.create(
      ownerId,
      title ?? null,
      this.config.limits.maxSessionsPerUser,
      replyMode,
    );
    if (session === null) {
      throw new SessionException(SessionExceptionCode.TooMany);
    }
    return session;
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

  async update(
    session: OwnedResource,
    changes: { title?: string | null; replyMode?: ReplyMode },
  ): Promise<SessionEntity> {
    const renamed = await this.sessions.update(session.id, session.ownerId, changes);
    if (renamed === null) {
      throw new SessionException(SessionExceptionCode.NotFound);
    }
    return renamed;
  }

  /** After the delete committed, the session's open event streams end, on every replica. */
  async remove(session: OwnedResource): Promise<void> {
    if (!(await this.sessions.delete(session.id, session.ownerId))) {
      throw new SessionException(SessionExceptionCode.NotFound);
    }
    await this.deletedListeners.sessionDeleted(session.id);
  }
}
