/** What a stream ticket grants: one user, one session's events, until `expiresAt` (epoch ms). */
export interface StreamTicketGrant {
  readonly userId: string;
  readonly sessionId: string;
  readonly expiresAt: number;
}

/**
 * Where stream tickets live until they expire: Redis, so that a ticket issued on one replica is
 * accepted by every other, or this process in embedded mode. Keyed by the ticket's hash, so the
 * store never holds a usable ticket.
 */
export abstract class StreamTicketStore {
  abstract save(ticketHash: string, grant: StreamTicketGrant, ttlMs: number): Promise<void>;
  abstract find(ticketHash: string): Promise<StreamTicketGrant | null>;
}
