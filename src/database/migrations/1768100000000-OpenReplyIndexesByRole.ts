import type { MigrationInterface, QueryRunner } from 'typeorm';

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

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.rebuild(queryRunner, AFTER);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.rebuild(queryRunner, BEFORE);
  }

  /**
   * The new indexes are built first, beside the old ones (writes wait, reads go on), and only then
   * do the old ones go and the new take their names: the exclusive lock that DROP INDEX takes on
   * the table is held from there to the commit, not while the indexes are built.
   */
  private async rebuild(queryRunner: QueryRunner, predicate: string): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX messages_open_replies_next ON messages (owner_id, session_id, seq) WHERE ${predicate}`,
    );
    await queryRunner.query(
      `CREATE INDEX messages_open_replies_by_session_next ON messages (session_id, seq) WHERE ${predicate}`,
    );
    await queryRunner.query('DROP INDEX messages_open_replies');
    await queryRunner.query('DROP INDEX messages_open_replies_by_session');
    await queryRunner.query('ALTER INDEX messages_open_replies_next RENAME TO messages_open_replies');
    await queryRunner.query(
      'ALTER INDEX messages_open_replies_by_session_next RENAME TO messages_open_replies_by_session',
    );
  }
}
