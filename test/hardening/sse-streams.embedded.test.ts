import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv, type EmbeddedDir } from '../support/embedded.js';
import { http } from '../support/http.js';
import { openSse, type SseClient } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';

/** Embedded mode counts a user's open streams in its one process: the same cap, the same answer. */
describe('event streams per user in embedded mode', () => {
  let dir: EmbeddedDir;
  let app: AppProcess;
  const opened: SseClient[] = [];

  beforeAll(async () => {
    dir = embeddedDataDir();
    app = await startApp({ env: embeddedEnv(dir.path, { SSE_MAX_STREAMS_PER_USER: '3' }) });
  });

  afterAll(async () => {
    for (const stream of opened) {
      stream.close();
    }
    if (app) {
      await stopAll([app]);
    }
    dir?.remove();
  });

  it('opens 3 streams of one user, refuses the 4th with 429 too_many_streams, and ends them when the session is deleted', async () => {
    const token = await tokenFor('embedded-watcher');
    const sessionId = (await http('POST', `${app.url}/v1/sessions`, { token, body: {} })).body.id as string;
    const url = `${app.url}/v1/sessions/${sessionId}/events`;
    for (let i = 0; i < 3; i += 1) {
      const stream = await openSse(url, token);
      opened.push(stream);
      expect(stream.status).toBe(200);
    }
    const refused = await http('GET', url, { token });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('too_many_streams');

    expect((await http('DELETE', `${app.url}/v1/sessions/${sessionId}`, { token })).status).toBe(204);
    for (const stream of opened) {
      await stream.waitFor((e) => e.event === 'session.deleted', 10_000, 'session.deleted');
      await stream.ended;
    }
    // Their slots are free again.
    const next = (await http('POST', `${app.url}/v1/sessions`, { token, body: {} })).body.id as string;
    const again = await openSse(`${app.url}/v1/sessions/${next}/events`, token);
    opened.push(again);
    expect(again.status).toBe(200);
  });
});
