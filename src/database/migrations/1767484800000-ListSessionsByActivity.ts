import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexOnline, dropIndexOnline } from './online-index.js';

/** Sessions are listed by last activity (`updated_at`: every send and rename moves it), newest first. */
export class ListSessionsByActivity1767484800000 implements MigrationInterface {
  name = 'ListSessionsByActivity1767484800000';
  /** Built without holding writes (online-index.ts). */
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(queryRunner, 'sessions_owner_activity', 'sessions (owner_id, updated_at DESC, id DESC)');
    await dropIndexOnline(queryRunner, 'sessions_owner_recent');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await createIndexOnline(queryRunner, 'sessions_owner_recent', 'sessions (owner_id, created_at DESC, id DESC)');
    await dropIndexOnline(queryRunner, 'sessions_owner_activity');
  }
}
