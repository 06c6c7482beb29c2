import type { MigrationInterface, QueryRunner } from 'typeorm';

/** How a session answers a burst of messages: each one (`each`), or one reply for the burst (`coalesce`). */
export class SessionReplyMode1767800000000 implements MigrationInterface {
  name = 'SessionReplyMode1767800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE sessions ADD COLUMN reply_mode varchar(16) NOT NULL DEFAULT 'each' CHECK (reply_mode IN ('each', 'coalesce'))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE sessions DROP COLUMN reply_mode');
  }
}
