import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { Mutex, PGlite, type Results } from '@electric-sql/pglite';

type Callback = (error: Error | null, result?: Results) => void;
type Release = (error?: unknown) => void;

/** One checked-out "connection": the PGlite engine, held exclusively until released. */
class PgliteClient extends EventEmitter {
  constructor(private readonly db: PGlite) {
    super();
  }

  async query(text: string, params?: unknown[] | Callback, callback?: Callback): Promise<Results> {
    const done = typeof params === 'function' ? params : callback;
    const values = Array.isArray(params) ? params : [];
    try {
      // Without parameters a string may hold several statements (migrations): the last result counts.
      const result =
        values.length > 0
          ? await this.db.query<Record<string, unknown>>(text, values)
          : ((await this.db.exec(text)).at(-1) ?? { rows: [], fields: [] });
      done?.(null, result);
      return result;
    } catch (error) {
      done?.(error as Error);
      throw error;
    }
  }
}

/**
 * A `pg`-compatible driver for TypeORM over PGlite (embedded mode). PGlite is one session, so a
 * checkout holds it exclusively until released: transactions are serialised, never interleaved
 * on the shared session (which would mix their statements and break every lock and constraint
 * guarantee the repositories rely on).
 */
export function createPgliteDriver(dataDir: string): { Pool: new () => EventEmitter } {
  mkdirSync(dataDir, { recursive: true });
  let engine: Promise<PGlite> | undefined;
  const open = (): Promise<PGlite> => (engine ??= PGlite.create(dataDir));
  const session = new Mutex();

  class PglitePool extends EventEmitter {
    connect(callback: (error: Error | null, client?: PgliteClient, release?: Release) => void): void {
      Promise.all([open(), session.acquire()]).then(
        ([db, unlock]) => {
          let released = false;
          callback(null, new PgliteClient(db), () => {
            if (!released) {
              released = true;
              unlock();
            }
          });
        },
        (error: Error) => callback(error),
      );
    }

    async query(text: string, params?: unknown[] | Callback, callback?: Callback): Promise<Results> {
      const db = await open();
      return session.runExclusive(() => new PgliteClient(db).query(text, params, callback));
    }

    end(callback?: (error?: Error) => void): void {
      const closing = engine ? engine.then((db) => db.close()) : Promise.resolve();
      engine = undefined;
      closing.then(
        () => callback?.(),
        (error: Error) => callback?.(error),
      );
    }
  }

  return { Pool: PglitePool };
}
