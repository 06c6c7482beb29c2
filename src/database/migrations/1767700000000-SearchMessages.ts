import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index.js';

/**
 * Full-text search over messages (GET /v1/search). An expression index rather than a stored
 * column: no table rewrite, and queries name the same expression (`english`, as for memories).
 */
export class SearchMessages1767700000000 implements MigrationInterface {
  name = 'SearchMessages1767700000000';
  /** Built without holding writes (online-index.ts). */
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(
      queryRunner,
      'messages_search',
      `messages USING gin (to_tsvector('english'::regconfig, content))`,
    );
    await createIndexOnline(queryRunner, 'messages_owner', 'messages (owner_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexOnline(queryRunner, 'messages_owner');
    await dropIndexOnline(queryRunner, 'messages_search');
  }
}
