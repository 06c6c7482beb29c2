import { randomUUID } from 'node:crypto';
import { http, type HttpResult } from './http.js';
import type { TestDatabase } from './services.js';

/** A small client of Parley's API for one user: the calls test files kept writing out by hand. */
export interface ApiUser {
  readonly token: string;
}

/** Creates a session for `user` on the app at `url` (asserting nothing): its id, or throws with the answer. */
export async function newSession(url: string, user: ApiUser, title: string | null = null): Promise<string> {
  const created = await http('POST', `${url}/v1/sessions`, {
    token: user.token,
    body: title === null ? {} : { title },
  });
  if (created.status !== 201) {
    throw new Error(`POST /v1/sessions answered ${created.status}: ${created.text}`);
  }
  return created.body.id as string;
}

/** POST /v1/sessions/:sessionId/messages. */
export function sendMessage(url: string, user: ApiUser, sessionId: string, content: string): Promise<HttpResult> {
  return http('POST', `${url}/v1/sessions/${sessionId}/messages`, { token: user.token, body: { content } });
}

/** GET /v1/sessions/:sessionId/messages with a query string (`limit=200`, …). */
export function history(url: string, user: ApiUser, sessionId: string, query = ''): Promise<HttpResult> {
  return http('GET', `${url}/v1/sessions/${sessionId}/messages${query === '' ? '' : `?${query}`}`, {
    token: user.token,
  });
}

/** The user id (`sub`) a test token was signed for. */
export function subjectOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')).sub as string;
}

/**
 * Creates a session for the token's user straight in the database: for tests whose requests are
 * counted (rate limits, sends) and must not spend one on the set-up. Its id.
 */
export async function insertSession(db: TestDatabase, token: string, replyMode?: 'each' | 'coalesce'): Promise<string> {
  const id = randomUUID();
  if (replyMode === undefined) {
    await db.query('INSERT INTO sessions (id, owner_id) VALUES ($1, $2)', [id, subjectOf(token)]);
  } else {
    await db.query('INSERT INTO sessions (id, owner_id, reply_mode) VALUES ($1, $2, $3)', [
      id,
      subjectOf(token),
      replyMode,
    ]);
  }
  return id;
}
