import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-user long-term memories. `search` is derived by PostgreSQL itself, so every writer (and
 * PGlite in embedded mode) indexes content the same way; the `english` configuration stems words
 * so that "running" finds "run".
 */
export class CreateMemories1767312000000 implements MigrationInterface {
  name = 'CreateMemories1767312000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE memories (
        id         uuid PRIMARY KEY,
        owner_id   varchar(128) NOT NULL,
        content    text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 2000),
        source     varchar(16) NOT NULL CHECK (source IN ('user', 'extracted')),
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        search     tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED
      )`);
    await queryRunner.query(`CREATE INDEX memories_owner_recent ON memories (owner_id, created_at DESC, id DESC)`);
    await queryRunner.query(`CREATE INDEX memories_search ON memories USING gin (search)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE memories');
  }
}
