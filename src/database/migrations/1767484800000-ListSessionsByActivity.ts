import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Sessions are listed by last activity (`updated_at`: every send and rename moves it), newest first. */
export class ListSessionsByActivity1767484800000 implements MigrationInterface {
  name = 'ListSessionsByActivity1767484800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX sessions_owner_activity ON sessions (owner_id, updated_at DESC, id DESC)`);
    await queryRunner.query('DROP INDEX sessions_owner_recent');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX sessions_owner_recent ON sessions (owner_id, created_at DESC, id DESC)`);
    await queryRunner.query('DROP INDEX sessions_owner_activity');
  }
}
