import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recently completed replies, by when they completed: what the reconciler reads to find user
 * messages whose memory extraction was lost with its job.
 */
export class CompletedRepliesIndex1767900000000 implements MigrationInterface {
  name = 'CompletedRepliesIndex1767900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX messages_completed_replies ON messages (updated_at) WHERE role = 'assistant' AND status = 'complete'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX messages_completed_replies');
  }
}
