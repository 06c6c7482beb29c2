import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Messages form a tree: `parent_id` is the message a user message follows on its branch (null for
 * a root) or, for a reply, its user message. Existing histories are linear, so each user message
 * gets the message just before it. A user message may now have several replies (regenerations),
 * so the one-reply-per-message index gives way to an index of children. Replies may also end
 * `stopped` (by their user) or `superseded` (a burst answered by a later reply).
 */
export class MessageTree1767657600000 implements MigrationInterface {
  name = 'MessageTree1767657600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE messages ADD COLUMN parent_id uuid REFERENCES messages (id) ON DELETE CASCADE',
    );
    await queryRunner.query(`UPDATE messages SET parent_id = reply_to WHERE role = 'assistant'`);
    await queryRunner.query(
      `UPDATE messages m SET parent_id = p.id FROM messages p
       WHERE m.role = 'user' AND p.session_id = m.session_id AND p.seq = m.seq - 1`,
    );
    await queryRunner.query(
      `ALTER TABLE messages ADD CONSTRAINT messages_reply_parent CHECK (role = 'user' OR parent_id IS NOT DISTINCT FROM reply_to)`,
    );
    await queryRunner.query('DROP INDEX messages_one_reply');
    await queryRunner.query('CREATE INDEX messages_children ON messages (session_id, parent_id, seq)');
    await queryRunner.query('ALTER TABLE messages DROP CONSTRAINT messages_status_check');
    await queryRunner.query(
      `ALTER TABLE messages ADD CONSTRAINT messages_status_check
         CHECK (status IN ('pending', 'streaming', 'complete', 'failed', 'stopped', 'superseded'))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM messages WHERE status IN ('stopped', 'superseded')`);
    await queryRunner.query('ALTER TABLE messages DROP CONSTRAINT messages_status_check');
    await queryRunner.query(
      `ALTER TABLE messages ADD CONSTRAINT messages_status_check CHECK (status IN ('pending', 'streaming', 'complete', 'failed'))`,
    );
    await queryRunner.query('DROP INDEX messages_children');
    await queryRunner.query(`CREATE UNIQUE INDEX messages_one_reply ON messages (reply_to) WHERE reply_to IS NOT NULL`);
    await queryRunner.query('ALTER TABLE messages DROP CONSTRAINT messages_reply_parent');
    await queryRunner.query('ALTER TABLE messages DROP COLUMN parent_id');
  }
}
