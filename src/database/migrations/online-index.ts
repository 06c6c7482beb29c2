import type { QueryRunner } from 'typeorm';

/**
 * Index changes that do not hold writes, for migrations on tables that already hold data. A plain
 * CREATE INDEX keeps every insert and update of its table waiting while PostgreSQL reads the whole
 * table (and DROP INDEX takes the table's exclusive lock until the commit); built and dropped
 * CONCURRENTLY, writes go on, and only other schema changes of the table wait. PostgreSQL allows
 * that outside a transaction alone, so a migration using these sets `transaction = false`: it is not
 * rolled back when it fails, and each step can run again (a build that failed leaves an invalid
 * index of its name behind, which the next attempt drops first).
 */
export async function createIndexOnline(runner: QueryRunner, name: string, definition: string): Promise<void> {
  await dropIndexOnline(runner, name);
  await runner.query(`CREATE INDEX CONCURRENTLY ${name} ON ${definition}`);
}

/** Drops an index without the table's exclusive lock; nothing when it does not exist (see createIndexOnline). */
export async function dropIndexOnline(runner: QueryRunner, name: string): Promise<void> {
  await runner.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
}
