import { Injectable } from '@nestjs/common';
import { StreamTicketStore, type StreamTicketGrant } from './stream-ticket-store.port.js';

/** Grants kept at once before the expired ones are swept (embedded mode: one process, few users). */
const SWEEP_ABOVE = 10_000;

/** Embedded mode: the one process is every replica there is. Expired grants are dropped lazily. */
@Injectable()
export class InProcessStreamTicketStore extends StreamTicketStore {
  private readonly grants = new Map<string, StreamTicketGrant>();

  async save(ticketHash: string, grant: StreamTicketGrant): Promise<void> {
    if (this.grants.size >= SWEEP_ABOVE) {
      const now = Date.now();
      for (const [hash, kept] of this.grants) {
        if (kept.expiresAt <= now) {
          this.grants.delete(hash);
        }
      }
    }
    this.grants.set(ticketHash, grant);
  }

  async find(ticketHash: string): Promise<StreamTicketGrant | null> {
    const grant = this.grants.get(ticketHash);
    if (grant === undefined || grant.expiresAt <= Date.now()) {
      this.grants.delete(ticketHash);
      return null;
    }
    return grant;
  }
}
