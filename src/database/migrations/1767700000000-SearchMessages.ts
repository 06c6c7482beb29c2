import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Full-text search over messages (GET /v1/search). An expression index rather than a stored
 * column: no table rewrite, and queries name the same expression (`english`, as for memories).
 */
export class SearchMessages1767700000000 implements MigrationInterface {
  name = 'SearchMessages1767700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX messages_search ON messages USING gin (to_tsvector('english'::regconfig, content))`,
    );
    await queryRunner.query(`CREATE INDEX messages_owner ON messages (owner_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX messages_owner');
    await queryRunner.query('DROP INDEX messages_search');
  }
}
