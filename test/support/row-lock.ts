import pg from 'pg';
import { eventually } from './http.js';
import type { TestDatabase } from './services.js';

/** A session's row held FOR UPDATE in an open transaction of its own: sends to it wait on the lock. */
export class SessionRowHold {
  private constructor(private readonly client: pg.Client) {}

  static async take(db: TestDatabase, sessionId: string): Promise<SessionRowHold> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT id FROM sessions WHERE id = $1 FOR UPDATE', [sessionId]);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return new SessionRowHold(client);
  }

  /** Lets the waiting statements go on: the transaction commits (or rolls back). */
  async release(end: 'COMMIT' | 'ROLLBACK' = 'COMMIT'): Promise<void> {
    await this.client.query(end);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** Resolves once a statement on `db` waits on a lock (a request blocked behind a SessionRowHold). */
export async function lockWaiter(db: TestDatabase, what: string): Promise<void> {
  await eventually(
    async () => {
      const waiting = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        [db.name],
      );
      return (waiting[0]?.n ?? 0) > 0 ? true : undefined;
    },
    10_000,
    what,
  );
}
