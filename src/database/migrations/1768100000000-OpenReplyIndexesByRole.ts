import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index.js';

const BEFORE = `status IN ('pending', 'streaming')`;
/** OPEN_REPLY as it is now, copied: a migration must not change when the code's constant does. */
const AFTER = `role = 'assistant' AND status IN ('pending', 'streaming')`;

/**
 * The open-reply indexes name the role in their predicate (OPEN_REPLY), as their readers do, and
 * the writes by primary key do not: a reply's claim, completion or failure tests its status only,
 * and the planner, whose statistics of a partial index date from the last VACUUM or ANALYZE
 * (usually taken with few replies open), chose to scan a whole open-reply index with a filter on
 * the id instead of the primary key, reading every open reply of every user for each write (about
 * 3,000 buffers per claim and per completion in a bench run with 3,000 replies waiting). The
 * entries are the same (only replies are ever open); the indexes are rebuilt under their names.
 */
export class OpenReplyIndexesByRole1768100000000 implements MigrationInterface {
  name = 'OpenReplyIndexesByRole1768100000000';
  /** Built without holding writes (online-index.ts). */
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.rebuild(queryRunner, AFTER);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.rebuild(queryRunner, BEFORE);
  }

  /**
   * The new indexes are built first, beside the old ones, and only then do the old ones go and the
   * new take their names; built and dropped without holding writes (online-index.ts). Run again
   * after a failure, it starts over from whatever the failure left: the `_next` indexes are built
   * afresh, and the old names are dropped when they exist before the new ones take them.
   */
  private async rebuild(queryRunner: QueryRunner, predicate: string): Promise<void> {
    await createIndexOnline(
      queryRunner,
      'messages_open_replies_next',
      `messages (owner_id, session_id, seq) WHERE ${predicate}`,
    );
    await createIndexOnline(
      queryRunner,
      'messages_open_replies_by_session_next',
      `messages (session_id, seq) WHERE ${predicate}`,
    );
    await dropIndexOnline(queryRunner, 'messages_open_replies');
    await dropIndexOnline(queryRunner, 'messages_open_replies_by_session');
    await queryRunner.query('ALTER INDEX messages_open_replies_next RENAME TO messages_open_replies');
    await queryRunner.query(
      'ALTER INDEX messages_open_replies_by_session_next RENAME TO messages_open_replies_by_session',
    );
  }
}
