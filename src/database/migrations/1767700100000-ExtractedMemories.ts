import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Memories drawn from conversations: where each came from (session and message, cleared when those
 * are deleted), the topic a newer fact replaces an older one on ("where I live"), and a normalised
 * text that deduplicates facts. `memory_extractions` records each user message extracted, so a job
 * delivered twice stores its facts once.
 */
export class ExtractedMemories1767700100000 implements MigrationInterface {
  name = 'ExtractedMemories1767700100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE memories
        ADD COLUMN session_id uuid REFERENCES sessions (id) ON DELETE SET NULL,
        ADD COLUMN message_id uuid REFERENCES messages (id) ON DELETE SET NULL,
        ADD COLUMN topic varchar(32),
        ADD COLUMN normalized text GENERATED ALWAYS AS
          (btrim(regexp_replace(lower(content), '[^[:alnum:]]+', ' ', 'g'))) STORED`);
    await queryRunner.query(`CREATE INDEX memories_owner_normalized ON memories (owner_id, md5(normalized))`);
    await queryRunner.query(`CREATE INDEX memories_session ON memories (session_id) WHERE session_id IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX memories_message ON memories (message_id) WHERE message_id IS NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE memory_extractions (
        message_id uuid PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
        owner_id   varchar(128) NOT NULL,
        stored     integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE memory_extractions');
    await queryRunner.query('DROP INDEX memories_message');
    await queryRunner.query('DROP INDEX memories_session');
    await queryRunner.query('DROP INDEX memories_owner_normalized');
    await queryRunner.query(
      'ALTER TABLE memories DROP COLUMN normalized, DROP COLUMN topic, DROP COLUMN message_id, DROP COLUMN session_id',
    );
  }
}
