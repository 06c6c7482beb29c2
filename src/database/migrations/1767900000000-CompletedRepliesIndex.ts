import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index.js';

/**
 * Recently completed replies, by when they completed: what the reconciler reads to find user
 * messages whose memory extraction was lost with its job.
 */
export class CompletedRepliesIndex1767900000000 implements MigrationInterface {
  name = 'CompletedRepliesIndex1767900000000';
  /** Built without holding writes (online-index.ts). */
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(
      queryRunner,
      'messages_completed_replies',
      `messages (updated_at) WHERE role = 'assistant' AND status = 'complete'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await dropIndexOnline(queryRunner, 'messages_completed_replies');
  }
}
