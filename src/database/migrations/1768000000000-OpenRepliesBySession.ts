import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index.js';

/**
 * A session's open replies in seq order: what a worker claims next and looks for after a reply.
 * messages_open_replies leads with the owner (the pending-reply cap), so a look-up by session alone
 * either scanned every open reply of every user or every message of the session.
 */
export class OpenRepliesBySession1768000000000 implements MigrationInterface {
  name = 'OpenRepliesBySession1768000000000';
  /** Built without holding writes (online-index.ts). */
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(
      queryRunner,
      'messages_open_replies_by_session',
      `messages (session_id, seq) WHERE status IN ('pending', 'streaming')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexOnline(queryRunner, 'messages_open_replies_by_session');
  }
}
