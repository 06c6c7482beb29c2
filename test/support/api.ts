import { http, type HttpResult } from './http.js';

/** A small client of Parley's API for one user: the calls test files kept writing out by hand. */
export interface ApiUser {
  readonly token: string;
}

/** Creates a session for `user` on the app at `url` (asserting nothing): its id, or throws with the answer. */
export async function newSession(url: string, user: ApiUser, title: string | null = null): Promise<string> {
  const created = await http('POST', `${url}/v1/sessions`, { token: user.token, body: title === null ? {} : { title } });
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
  return http('GET', `${url}/v1/sessions/${sessionId}/messages${query === '' ? '' : `?${query}`}`, { token: user.token });
}
