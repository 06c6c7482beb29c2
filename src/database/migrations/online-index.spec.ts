import type { MigrationInterface, QueryRunner } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from './index.js';

/**
 * Migrations that build indexes on an existing table inside their transaction, holding its writes
 * while they build: each also rewrites that table's rows or constraints, which hold them anyway.
 */
const HOLDING_WRITES = new Set(['MessageTree1767657600000', 'ExtractedMemories1767700100000']);

const INDEX = /CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?\w+\s+ON\s+(\w+)/gi;
const TABLE = /CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)/gi;

/** The SQL a migration's step sends, recorded without a database. */
async function statementsOf(step: (runner: QueryRunner) => Promise<void>): Promise<string[]> {
  const sent: string[] = [];
  const runner = {
    query: (sql: string): Promise<unknown[]> => {
      sent.push(sql);
      return Promise.resolve([]);
    },
  } as unknown as QueryRunner;
  await step(runner);
  return sent;
}

describe('index migrations', () => {
  const migrations = MIGRATIONS.map((Migration): MigrationInterface => new Migration());

  it.each(migrations.map((migration) => [migration.name, migration] as const))(
    '%s builds an index on a table it did not create only online, outside a transaction',
    async (name, migration) => {
      for (const step of [migration.up.bind(migration), migration.down.bind(migration)]) {
        const sql = (await statementsOf(step)).join(';\n');
        const created = new Set([...sql.matchAll(TABLE)].map((match) => match[1]?.toLowerCase()));
        for (const [statement, concurrently, table] of sql.matchAll(INDEX)) {
          if (concurrently !== undefined) {
            // PostgreSQL refuses CONCURRENTLY inside a transaction.
            expect(migration.transaction, `${name}: ${statement}`).toBe(false);
          } else if (!created.has(table?.toLowerCase()) && !HOLDING_WRITES.has(name ?? '')) {
            expect.fail(`${name} builds an index on ${table} holding its writes (use online-index.ts): ${statement}`);
          }
        }
      }
    },
  );
});
