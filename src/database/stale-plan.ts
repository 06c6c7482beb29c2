/** PostgreSQL's words for a prepared statement whose result no longer has the columns' types it was prepared with. */
const STALE_PLAN = 'cached plan must not change result type';

/**
 * A migration changed the type of a column a prepared statement returns (`varchar(64)` widened to
 * `varchar(128)`, `int` to `bigint`): PostgreSQL then refuses that statement on every connection
 * that prepared it before (SQLSTATE 0A000), at planning, before it ran. pg's own error, or
 * TypeORM's QueryFailedError around it.
 */
export function isStalePlanError(error: unknown): boolean {
  const failed = error as {
    code?: unknown;
    message?: unknown;
    driverError?: { code?: unknown; message?: unknown };
  } | null;
  const cause = failed?.driverError ?? failed;
  return cause?.code === '0A000' && typeof cause.message === 'string' && cause.message.includes(STALE_PLAN);
}

/** How many times a statement or a transaction refused on a stale plan runs in all. */
export const STALE_PLAN_RUNS = 3;

/**
 * Runs `work` (a statement alone, or a transaction), and again when it was refused on a stale plan:
 * a refused statement never ran, and a transaction it was part of was aborted, so nothing of the run
 * stayed; by then the process prepares its statements afresh (PreparedStatementsClient), which the
 * next run does. At most STALE_PLAN_RUNS runs: each more needs one more column change between them.
 * Any other failure is the caller's.
 */
export async function retryingStalePlan<T>(work: () => Promise<T>): Promise<T> {
  for (let run = 1; ; run += 1) {
    try {
      return await work();
    } catch (error) {
      if (run >= STALE_PLAN_RUNS || !isStalePlanError(error)) {
        throw error;
      }
    }
  }
}
