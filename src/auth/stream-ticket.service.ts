import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { ParleyClsStore } from '../common/request-context.js';
import { SecurityEventsService } from '../access/security-events.service.js';
import { normaliseId } from '../common/uuid.util.js';
import { AppConfig } from '../config/app-config.js';
import { StreamTicketStore, type StreamTicketGrant } from '../coordination/stream-ticket-store.port.js';
import { AuthException, AuthExceptionCode } from './auth.exception.js';

/** 32 random bytes: unguessable; the prefix tells a ticket from a JWT at a glance. */
const TICKET = /^st_[A-Za-z0-9_-]{43}$/;

export interface IssuedTicket {
  readonly ticket: string;
  readonly expiresAt: Date;
}

export interface RedeemedTicket {
  readonly userId: string;
  /** When the ticket expires (ms since the epoch): a stream opened with it ends then. */
  readonly expiresAtMs: number;
}

type Refusal = 'malformed' | 'unknown_or_expired' | 'other_session' | 'other_user';

function hashOf(ticket: string): string {
  return createHash('sha256').update(ticket).digest('hex');
}

/**
 * Stream tickets: the credential of a browser's EventSource, which cannot send an Authorization
 * header. A ticket stands for one user and one session's events, read-only, until it expires
 * (SSE_TICKET_TTL_MS), on every replica, as often as the browser reconnects. Only its hash is
 * stored; it is never logged. Every refusal is a security event.
 */
@Injectable()
export class StreamTicketService {
  constructor(
    private readonly store: StreamTicketStore,
    private readonly config: AppConfig,
    private readonly securityEvents: SecurityEventsService,
    private readonly cls: ClsService<ParleyClsStore>,
  ) {}

  async issue(userId: string, sessionId: string): Promise<IssuedTicket> {
    const ttlMs = this.config.events.ticketTtlMs;
    const ticket = `st_${randomBytes(32).toString('base64url')}`;
    const grant: StreamTicketGrant = {
      userId,
      sessionId: normaliseId(sessionId),
      expiresAt: Date.now() + ttlMs,
    };
    try {
      await this.store.save(hashOf(ticket), grant, ttlMs);
    } catch {
      throw new AuthException(AuthExceptionCode.TicketsUnavailable);
    }
    return { ticket, expiresAt: new Date(grant.expiresAt) };
  }

  /**
   * The user a ticket stands for on this session's events, and until when. `bearerUserId`: the
   * user of a bearer token sent beside the ticket, which must be the same.
   */
  async redeem(ticket: unknown, sessionId: unknown, bearerUserId?: string): Promise<RedeemedTicket> {
    if (typeof ticket !== 'string' || !TICKET.test(ticket)) {
      return this.refuse('malformed', AuthExceptionCode.InvalidTicket, sessionId);
    }
    let grant: StreamTicketGrant | null;
    try {
      grant = await this.store.find(hashOf(ticket));
    } catch {
      throw new AuthException(AuthExceptionCode.TicketsUnavailable);
    }
    if (grant === null || grant.expiresAt <= Date.now()) {
      return this.refuse('unknown_or_expired', AuthExceptionCode.InvalidTicket, sessionId);
    }
    if (grant.sessionId !== normaliseId(sessionId)) {
      return this.refuse('other_session', AuthExceptionCode.TicketForbidden, sessionId, grant.userId);
    }
    if (bearerUserId !== undefined && bearerUserId !== grant.userId) {
      return this.refuse('other_user', AuthExceptionCode.TicketForbidden, sessionId, grant.userId);
    }
    return { userId: grant.userId, expiresAtMs: grant.expiresAt };
  }

  private refuse(reason: Refusal, code: AuthExceptionCode, sessionId: unknown, ticketUserId?: string): never {
    this.securityEvents.record('stream_ticket_refused', {
      reason,
      ticketUserId,
      sessionId: typeof sessionId === 'string' ? sessionId.slice(0, 64) : undefined,
      requestId: this.cls.getId(),
    });
    throw new AuthException(code);
  }
}
