import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Times are kept to the millisecond so that a JavaScript Date round-trips exactly (list cursors). */
export class CreateSessionsAndMessages1767225600000 implements MigrationInterface {
  name = 'CreateSessionsAndMessages1767225600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE sessions (
        id            uuid PRIMARY KEY,
        owner_id      varchar(128) NOT NULL,
        title         varchar(200),
        last_seq      integer NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
        message_count integer NOT NULL DEFAULT 0 CHECK (message_count >= 0),
        created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        updated_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
      )`);
    await queryRunner.query(`CREATE INDEX sessions_owner_recent ON sessions (owner_id, created_at DESC, id DESC)`);
    await queryRunner.query(`
      CREATE TABLE messages (
        id                uuid PRIMARY KEY,
        session_id        uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        owner_id          varchar(128) NOT NULL,
        seq               integer NOT NULL CHECK (seq > 0),
        role              varchar(16) NOT NULL CHECK (role IN ('user', 'assistant')),
        content           text NOT NULL,
        status            varchar(16) NOT NULL CHECK (status IN ('pending', 'streaming', 'complete', 'failed')),
        reply_to          uuid REFERENCES messages (id) ON DELETE CASCADE,
        client_message_id varchar(64),
        attempt           integer NOT NULL DEFAULT 0,
        error_code        varchar(64),
        error_message     text,
        request_id        varchar(128),
        created_at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        updated_at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT messages_session_seq UNIQUE (session_id, seq),
        CONSTRAINT messages_reply_pairing CHECK ((role = 'assistant') = (reply_to IS NOT NULL))
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX messages_client_message_id ON messages (session_id, client_message_id)
         WHERE client_message_id IS NOT NULL`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX messages_one_reply ON messages (reply_to) WHERE reply_to IS NOT NULL`);
    await queryRunner.query(
      `CREATE INDEX messages_open_replies ON messages (owner_id, session_id, seq)
         WHERE status IN ('pending', 'streaming')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE messages');
    await queryRunner.query('DROP TABLE sessions');
  }
}
