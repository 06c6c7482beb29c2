import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessResource } from './access.constants.js';

/** One ownership look-up per kind of thing a user owns: the owner id, whoever asks. */
const OWNER_QUERIES: Record<AccessResource, string> = {
  [AccessResource.Session]: 'SELECT owner_id FROM sessions WHERE id = $1',
  [AccessResource.Memory]: 'SELECT owner_id FROM memories WHERE id = $1',
};

/**
 * The reads behind every access decision, and nothing else: they name each table's `owner_id`
 * only to tell "unknown" from "someone else's". Every other query stays with the table's module.
 */
@Injectable()
export class AccessRepository {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  async ownerOf(resource: AccessResource, id: string): Promise<string | null> {
    const rows: Array<{ owner_id: string }> = await this.db.query(OWNER_QUERIES[resource], [id]);
    return rows[0]?.owner_id ?? null;
  }
}
