import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Summaries of the older part of a long branch. Each row is cumulative (it covers the branch's
 * messages up to `through_seq`) and extends the previous one from `from_seq`: the primary key lets
 * only one summary start at a seq, so two workers extending the same summary never both store.
 */
export class SessionSummaries1767700200000 implements MigrationInterface {
  name = 'SessionSummaries1767700200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE session_summaries (
        session_id         uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        from_seq           integer NOT NULL CHECK (from_seq > 0),
        through_seq        integer NOT NULL,
        through_message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        content            text NOT NULL,
        created_at         timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        PRIMARY KEY (session_id, from_seq),
        CHECK (through_seq >= from_seq)
      )`);
    await queryRunner.query(`CREATE INDEX session_summaries_through ON session_summaries (through_message_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE session_summaries');
  }
}
