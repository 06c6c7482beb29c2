import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { isStalePlanError, retryingStalePlan } from './stale-plan.js';

/**
 * Ends a pipelined transaction with its last statement: `last` issues that statement, and the
 * COMMIT is written right behind it, in the same round trip. Once the statement is written the
 * transaction commits whatever `last` does with its answer; a statement that fails aborts the
 * transaction, and the COMMIT then ends it as a rollback.
 */
export type CommitWith = <R>(last: () => Promise<R>) => Promise<R>;

/**
 * A transaction that costs no round trip of its own: START TRANSACTION is written together with the
 * work's first statements, and `commitWith` writes the COMMIT together with its last one. Parley's
 * clients pipeline (PipelinedClient, and the embedded driver queues in order): PostgreSQL runs the
 * statements one after the other, so each still runs inside the transaction. Work that returns
 * without `commitWith` is committed after it, work that throws is rolled back, as with TypeORM's
 * `transaction()`; the connection goes back to the pool only once every statement is answered.
 *
 * Order is what makes it safe: START is issued before the work runs, and every statement goes
 * through the query runner's same path, so they reach the connection in the order they were issued.
 * `commitWith` checks that `last` issued its statement before the COMMIT is issued; if it did not
 * (it awaited something first), the COMMIT waits for its answer instead. Work refused on a stale
 * prepared plan runs again (retryingStalePlan): it must touch nothing but the transaction.
 */
export function pipelinedTransaction<T>(
  db: DataSource,
  work: (tx: EntityManager, commitWith: CommitWith) => Promise<T>,
): Promise<T> {
  return retryingStalePlan(() => runPipelined(db, work));
}

async function runPipelined<T>(
  db: DataSource,
  work: (tx: EntityManager, commitWith: CommitWith) => Promise<T>,
): Promise<T> {
  const runner = db.createQueryRunner();
  await runner.connect();
  let issued = 0;
  /** The first statement refused on a stale plan: the run's failure, whichever failure `work` met first. */
  let refusal: unknown;
  const query: QueryRunner['query'] = runner.query.bind(runner);
  runner.query = ((...args: Parameters<QueryRunner['query']>) => {
    issued += 1;
    return query(...args).catch((error: unknown) => {
      if (refusal === undefined && isStalePlanError(error)) {
        refusal = error;
      }
      throw error;
    });
  }) as QueryRunner['query'];
  // TypeORM's own writes inside `work` (save, remove) then never open a transaction of their own.
  const state = runner as { isTransactionActive: boolean };
  state.isTransactionActive = true;
  let open = true;

  const commitWith: CommitWith = async (last) => {
    if (!open) {
      throw new Error('the transaction has ended');
    }
    const before = issued;
    const answer = last();
    if (issued === before) {
      // Not issued yet: committing now could end the transaction before it.
      return answer;
    }
    open = false;
    const [value, committed] = await Promise.allSettled([answer, runner.query('COMMIT')]);
    if (committed.status === 'rejected') {
      throw committed.reason;
    }
    if (value.status === 'rejected') {
      throw value.reason;
    }
    return value.value;
  };

  try {
    const [opened, done] = await Promise.allSettled([
      runner.query('START TRANSACTION'),
      work(runner.manager, commitWith),
    ]);
    if (opened.status === 'rejected' || done.status === 'rejected') {
      if (open) {
        open = false;
        await runner.query('ROLLBACK').catch(() => undefined);
      }
      // A statement refused on a stale plan aborted the transaction, and those behind it failed for
      // that: `work` may have met one of theirs first, but the refusal is why the run failed.
      throw refusal ?? (opened.status === 'rejected' ? opened.reason : (done as PromiseRejectedResult).reason);
    }
    if (open) {
      open = false;
      await runner.query('COMMIT');
    }
    return done.value;
  } finally {
    state.isTransactionActive = false;
    await runner.release();
  }
}

/**
 * TypeORM's `db.transaction(work)`, run again when a statement of it was refused on a stale
 * prepared plan (retryingStalePlan): `work` must touch nothing but the transaction.
 */
export function transaction<T>(db: DataSource, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  return retryingStalePlan(() => db.transaction(work));
}
