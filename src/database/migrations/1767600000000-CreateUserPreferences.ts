import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each user chose about Parley's behaviour towards them: custom instructions for every prompt
 * and whether memories are drawn from their conversations. A user without a row has the defaults.
 */
export class CreateUserPreferences1767600000000 implements MigrationInterface {
  name = 'CreateUserPreferences1767600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE user_preferences (
        owner_id          varchar(128) PRIMARY KEY,
        instructions      text CHECK (char_length(instructions) BETWEEN 1 AND 2000),
        memory_extraction boolean NOT NULL DEFAULT true,
        updated_at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE user_preferences');
  }
}
