import { Injectable } from '@nestjs/common';
import { RedisService } from '../redis/redis.service.js';
import { StreamTicketStore, type StreamTicketGrant } from './stream-ticket-store.port.js';

/** One key per ticket, expiring with it (`SET PX`): every replica reads the same grants. */
@Injectable()
export class RedisStreamTicketStore extends StreamTicketStore {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async save(ticketHash: string, grant: StreamTicketGrant, ttlMs: number): Promise<void> {
    await this.redis.commands.set(this.redis.key('stream-ticket', ticketHash), JSON.stringify(grant), 'PX', ttlMs);
  }

  async find(ticketHash: string): Promise<StreamTicketGrant | null> {
    const value = await this.redis.commands.get(this.redis.key('stream-ticket', ticketHash));
    return value === null ? null : (JSON.parse(value) as StreamTicketGrant);
  }
}
