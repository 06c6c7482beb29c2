import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { isStalePlanError, retryingStalePlan } from './stale-plan.js';

export interface TransactionTimeouts {
  /** Longest statement, set for every transaction. */
  readonly statementMs: number;
  /** Longest pause inside an open transaction before the server ends the session. */
  readonly idleInTransactionMs: number;
}

type Send = (text: string | pg.QueryConfig, values?: unknown) => Promise<pg.QueryResult>;

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** pg's connection socket, when it can buffer writes (it always can on Node). */
function socketOf(client: pg.Client): Corkable | null {
  const stream = (client as unknown as { connection?: { stream?: Partial<Corkable> } }).connection?.stream;
  return typeof stream?.cork === 'function' && typeof stream.uncork === 'function' ? (stream as Corkable) : null;
}

const OPENS = /^\s*(START\s+TRANSACTION|BEGIN)\b/i;
/** COMMIT, END, ABORT or ROLLBACK, but not ROLLBACK TO SAVEPOINT (the transaction goes on). */
const CLOSES = /^\s*(COMMIT|END|ABORT|ROLLBACK(?!\s+TO\b))\b/i;

function textOf(query: unknown): string | undefined {
  if (typeof query === 'string') {
    return query;
  }
  const text = (query as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : undefined;
}

/**
 * pg's client in pipeline mode: a statement is written as soon as it is issued, without waiting for
 * the answer to the one before, and PostgreSQL answers them in order; a transaction that issues its
 * reads together (the send's locks and the reads under them) pays one round trip for all of them.
 * The connection's writes are held until the promise jobs running now have all run, so statements
 * issued together leave in one socket write: the bytes and their order are unchanged, only the
 * number of system calls (and wake-ups of PostgreSQL) drops. The release is a next-tick job queued
 * from a promise job: it runs once the promise jobs are done.
 */
export class PipelinedClient extends pg.Client {
  private batching = false;

  constructor(config?: pg.ClientConfig) {
    super({ ...config, pipeline: true });
    const send = pg.Client.prototype.query.bind(this) as (...args: unknown[]) => unknown;
    const query = (...args: unknown[]): unknown => {
      this.batchWrites();
      return send(...args);
    };
    Object.defineProperty(this, 'query', { value: query, writable: true, configurable: true });
  }

  private batchWrites(): void {
    const socket = socketOf(this);
    if (this.batching || socket === null) {
      return;
    }
    this.batching = true;
    socket.cork();
    queueMicrotask(() =>
      process.nextTick(() => {
        this.batching = false;
        socket.uncork();
      }),
    );
  }
}

/** At most this many distinct statements per process are prepared; any other runs unnamed. */
const MAX_PREPARED = 256;
const preparedNames = new Map<string, string>();
let namesGiven = 0;
/** How many times the process forgot its prepared statements (forgetPrepared). */
let namesForgotten = 0;
/** Tells this process's statements prepared afresh from any other's (see preparedText). */
const PROCESS_MARK = randomBytes(6).toString('hex');

/**
 * The text a statement is prepared with: its own until the process first forgets its statements,
 * then marked with the process and how many times it forgot. A PgBouncer that keeps prepared
 * statements shares one server statement among all its clients that prepare the same text, under
 * whatever names: the statement refused on a stale plan would meet the same refusal under a new
 * name, and only a new text gets a new plan.
 */
function preparedText(text: string): string {
  return namesForgotten === 0 ? text : `${text} /* parley ${PROCESS_MARK} ${namesForgotten} */`;
}

/** The name a parameterised statement is prepared under (the same text, the same name), or none. */
function preparedNameOf(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = `parley_${namesGiven++}`;
    preparedNames.set(text, name);
  }
  return name;
}

/**
 * The statement prepared as `stale` was refused on a stale plan (stale-plan.ts): a migration changed
 * a column type, and other statements may return that column too. From now on every connection of
 * the process prepares every statement afresh, under new names, so that a transaction run again
 * meets none of the old plans; each connection drops its old ones (dropRetired). A refusal of a name
 * given before the last such change changes nothing more.
 */
function forgetPrepared(text: string, stale: string): void {
  if (preparedNames.get(text) === stale) {
    preparedNames.clear();
    namesForgotten += 1;
  }
}

/** pg's connection keeps the text of each named statement by name, once written and once parsed. */
interface NamedStatements {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
}

/**
 * A pipelined client that prepares its parameterised statements once per connection (a named
 * statement of the extended protocol): PostgreSQL parses and analyses a statement's text the first
 * time a connection runs it, then only binds and executes it, and may keep a generic plan. For a
 * connection straight to PostgreSQL, or through a PgBouncer that keeps prepared statements
 * (DATABASE_POOLER_PREPARED_STATEMENTS, under the per-transaction timeouts): behind any other
 * PgBouncer in transaction mode a statement prepared on one server connection is unknown to the
 * next (F13). Every statement names its columns, so a migration that adds columns leaves the
 * prepared results as they were. One that changes the type
 * of a column a statement returns makes PostgreSQL refuse that statement wherever it was prepared
 * before (a stale plan): the process then prepares its statements afresh, under new names
 * (sendPrepared), and each connection drops the old ones (dropRetired).
 */
export class PreparedStatementsClient extends PipelinedClient {
  /** Whether the statements issued now belong to a transaction (as issued: the client pipelines). */
  private inTransaction = false;
  /** namesForgotten when this connection last dropped its retired statements. */
  private forgotten = namesForgotten;
  /**
   * The names this connection uses instead of the process's, by the process's name: one whose
   * Parse failed here. A PgBouncer that keeps prepared statements takes a client's Parse as
   * naming the statement even when PostgreSQL refuses it (in a transaction a failure aborted, say),
   * and answers another Parse under that name with "prepared statement name is already in use",
   * a protocol error that ends the connection; pg would send one, not knowing the name. A name of
   * the connection's own is parsed afresh instead.
   */
  private readonly ownNames = new Map<string, string>();
  private ownNamesGiven = 0;

  constructor(config?: pg.ClientConfig) {
    super(config);
    const send = this.query.bind(this) as (...args: unknown[]) => unknown;
    const query = (...args: unknown[]): unknown => {
      const [text, values] = args;
      if (typeof text !== 'string') {
        return send(...args);
      }
      if (!this.inTransaction) {
        if (this.forgotten !== namesForgotten) {
          this.dropRetired(send);
        }
        this.inTransaction = OPENS.test(text);
      } else if (CLOSES.test(text)) {
        this.inTransaction = false;
      }
      if (Array.isArray(values) && values.length > 0 && args.length === 2) {
        const run = (): Promise<pg.QueryResult> => this.sendPrepared(send, text, values);
        // Alone (not in a transaction), a statement refused on a stale plan runs again at once: it
        // never ran, and there is no transaction it aborted. In a transaction the refusal aborted
        // the transaction: it is the caller's (retryingStalePlan runs the transaction again).
        return this.inTransaction ? run() : retryingStalePlan(run);
      }
      return send(...args);
    };
    Object.defineProperty(this, 'query', { value: query, writable: true, configurable: true });
  }

  /**
   * `text` under its prepared name: unnamed while that name's Parse is still unanswered, or past
   * the budget. A refusal on a stale plan makes the process prepare its statements afresh
   * (forgetPrepared), so that the statement, or its transaction, run again meets no old plan.
   */
  private sendPrepared(
    send: (...args: unknown[]) => unknown,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult> {
    const shared = preparedNameOf(text);
    if (shared === undefined) {
      return send(text, values) as Promise<pg.QueryResult>;
    }
    const name = this.ownNames.get(shared) ?? shared;
    if (this.isBeingPrepared(name)) {
      return send(text, values) as Promise<pg.QueryResult>;
    }
    return (send({ name, text: preparedText(text), values }) as Promise<pg.QueryResult>).catch((error: unknown) => {
      if (isStalePlanError(error)) {
        forgetPrepared(text, shared);
      } else if (!this.isParsed(name)) {
        this.ownNames.set(shared, `${shared}_${this.ownNamesGiven++}`);
      }
      throw error;
    });
  }

  /**
   * Its Parse was answered: the statement exists under `name` on the server (straight to
   * PostgreSQL), or PgBouncer has it for this client.
   */
  private isParsed(name: string): boolean {
    return this.statements()?.parsedStatements[name] !== undefined;
  }

  /** pg's record of the connection's named statements: answered (parsed) and written (submitted). */
  private statements(): NamedStatements | undefined {
    return (this as unknown as { connection?: NamedStatements }).connection;
  }

  /**
   * Once the process has forgotten its prepared statements (forgetPrepared), the connection drops
   * those it prepared under retired names, ahead of its first statement outside a transaction
   * (written together with it): they would stay on the server, never used again, for as long as the
   * connection lives.
   */
  private dropRetired(send: (...args: unknown[]) => unknown): void {
    this.forgotten = namesForgotten;
    const parsed = this.statements()?.parsedStatements;
    if (parsed === undefined) {
      return;
    }
    const current = new Set(preparedNames.values());
    for (const [shared, own] of this.ownNames) {
      if (current.has(shared)) {
        current.add(own);
      } else {
        this.ownNames.delete(shared);
      }
    }
    const retired = Object.keys(parsed).filter((name) => !current.has(name));
    if (retired.length === 0) {
      return;
    }
    for (const name of retired) {
      delete parsed[name];
    }
    // Each of them exists (its Parse was answered); should the command fail all the same, the
    // statement behind it is not in a transaction it could abort.
    void (send(retired.map((name) => `DEALLOCATE ${name}`).join('; ')) as Promise<unknown>).catch(() => undefined);
  }

  /**
   * Its Parse is written but not answered yet: a use in the same pipeline runs unnamed, so that if
   * the Parse fails (a lock wait cut by the statement timeout, say) each use fails with its own
   * error rather than "prepared statement does not exist".
   */
  private isBeingPrepared(name: string): boolean {
    return this.statements()?.submittedNamedStatements[name] !== undefined;
  }
}

/**
 * The pool's client class. PgBouncer in transaction mode refuses `statement_timeout` as a startup
 * parameter and hands each transaction to whichever server connection is free, so a session-level
 * setting would be lost (or leak to another client). Instead every transaction sets its timeouts
 * with `set_config(..., true)` (SET LOCAL): right after a `START TRANSACTION`, and a statement sent
 * outside a transaction runs in one of its own (`BEGIN` + the settings, the statement, `COMMIT`).
 * Nothing outlives the transaction, directly or through PgBouncer alike. The client pipelines
 * (pg's `pipeline` mode), so the settings and the wrapping cost no extra round trip: they are
 * written together with the statement and PostgreSQL answers them in order. A failed statement
 * aborts its transaction, and the `COMMIT` written behind it then ends it as a rollback.
 *
 * The statements written together (a statement with its BEGIN, timeouts and COMMIT, an opening with
 * its timeouts) leave in one socket write (see PipelinedClient).
 */
export function transactionTimeoutsClient(
  timeouts: TransactionTimeouts,
  Base: typeof PipelinedClient = PipelinedClient,
): typeof pg.Client {
  const settings =
    `SELECT set_config('statement_timeout', '${Math.trunc(timeouts.statementMs)}', true), ` +
    `set_config('idle_in_transaction_session_timeout', '${Math.trunc(timeouts.idleInTransactionMs)}', true)`;

  return class TransactionTimeoutsClient extends Base {
    private inTransaction = false;

    constructor(config?: pg.ClientConfig) {
      super(config);
      const send = this.query.bind(this) as Send;
      const query = (text: unknown, values?: unknown, callback?: unknown): unknown => {
        const sql = textOf(text);
        // Callbacks and streams are not used by Parley's repositories; they pass through untouched.
        if (sql === undefined || typeof values === 'function' || typeof callback === 'function') {
          return (send as (...args: unknown[]) => unknown)(text, values, callback);
        }
        return this.bounded(send, text as string | pg.QueryConfig, sql, values);
      };
      Object.defineProperty(this, 'query', { value: query, writable: true, configurable: true });
    }

    private async bounded(
      send: Send,
      text: string | pg.QueryConfig,
      sql: string,
      values: unknown,
    ): Promise<pg.QueryResult> {
      if (OPENS.test(sql)) {
        // Set before the answer: a pipelined transaction issues its statements right behind the
        // opening (pipelinedTransaction), and they belong to it rather than each to a transaction
        // of its own.
        this.inTransaction = true;
        try {
          const [opened] = await Promise.all([send(text, values), send(settings)]);
          return opened;
        } catch (error) {
          this.inTransaction = false;
          throw error;
        }
      }
      if (CLOSES.test(sql)) {
        try {
          return await send(text, values);
        } finally {
          this.inTransaction = false;
        }
      }
      if (this.inTransaction) {
        return send(text, values);
      }
      // Over a base that prepares, a statement refused on a stale plan never ran: its transaction
      // of one statement runs again at once, as a statement alone does straight to PostgreSQL.
      return retryingStalePlan(async () => {
        const [opened, result, committed] = [send(`BEGIN; ${settings}`), send(text, values), send('COMMIT')];
        const outcomes = await Promise.allSettled([opened, result, committed]);
        const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
        if (failed !== undefined) {
          throw failed.reason;
        }
        return result;
      });
    }
  };
}
