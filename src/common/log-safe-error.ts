/**
 * What a log line may say about an error. Logs never carry message content, tokens or tickets:
 * a database error is its SQLSTATE code and the query's name (verb and table), never the SQL's
 * parameters, its detail (`Key (x)=(value)`) or its message (`invalid input syntax for type uuid:
 * "<input>"`); any other error is its type, code, message and stack, without the extra fields some
 * libraries attach (request bodies, headers, parameters).
 */
export interface LoggedError {
  type: string;
  code?: string;
  query?: string;
  message?: string;
  stack?: string;
  cause?: LoggedError;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
const MAX_CAUSES = 3;

/** A query's name: its verb and first table (`insert messages`), never a value from it. */
export function queryName(sql: unknown): string | undefined {
  if (typeof sql !== 'string') {
    return undefined;
  }
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase();
  const table = /\b(?:from|into|update|join)\s+"?([A-Za-z_][\w.]*)"?/i.exec(sql)?.[1];
  return verb === undefined ? undefined : table === undefined ? verb : `${verb} ${table}`;
}

interface DatabaseErrorFields {
  code?: unknown;
  query?: unknown;
  driverError?: unknown;
  severity?: unknown;
  routine?: unknown;
}

/** TypeORM's QueryFailedError (query, parameters, driverError) or the pg driver's DatabaseError. */
function isDatabaseError(error: Error): boolean {
  const fields = error as Error & DatabaseErrorFields;
  return (
    fields.driverError !== undefined ||
    'parameters' in error ||
    (typeof fields.code === 'string' &&
      SQLSTATE.test(fields.code) &&
      (fields.severity !== undefined || fields.routine !== undefined))
  );
}

function databaseError(error: Error): LoggedError {
  const fields = error as Error & DatabaseErrorFields;
  const driver = (fields.driverError ?? {}) as DatabaseErrorFields;
  const code = [fields.code, driver.code].find(
    (value): value is string => typeof value === 'string' && SQLSTATE.test(value),
  );
  return {
    type: error.name,
    ...(code === undefined ? {} : { code }),
    ...(queryName(fields.query) === undefined ? {} : { query: queryName(fields.query) }),
  };
}

export function describeError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) {
    return error;
  }
  if (isDatabaseError(error)) {
    return databaseError(error);
  }
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: unknown }).cause;
  return {
    type: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(cause instanceof Error && depth < MAX_CAUSES ? { cause: describeError(cause, depth + 1) as LoggedError } : {}),
  };
}

/** For call sites that log an error as one line of text. */
export function describeErrorBriefly(error: unknown): string {
  const described = describeError(error);
  if (typeof described !== 'object' || described === null) {
    return String(described);
  }
  const { type, code, query, message } = described as LoggedError;
  return message ?? [type, code, query].filter((part) => part !== undefined).join(' ');
}
