import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv, type EmbeddedDir } from '../support/embedded.js';
import { http } from '../support/http.js';
import { openSse } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';

/** Embedded mode (one process, in-process event stream): the same events, ids and resume. */
describe('session events in embedded mode', () => {
  let dir: EmbeddedDir;
  let app: AppProcess;

  beforeAll(async () => {
    dir = embeddedDataDir();
    app = await startApp({ env: embeddedEnv(dir.path, { LOCAL_LLM_DELAY_MS: '20' }) });
  });

  afterAll(async () => {
    await stopAll(app ? [app] : []);
    dir?.remove();
  });

  it('streams a reply over SSE, chat/send waits for it, and Last-Event-ID replays what was missed', async () => {
    const token = await tokenFor('embedded-alice');
    const sent = await http('POST', `${app.url}/v1/chat/send`, {
      token,
      body: { message: 'hello from embedded mode' },
    });
    expect(sent.status).toBe(200);
    expect(sent.body.reply.status).toBe('complete');
    const path = `${app.url}/v1/sessions/${sent.body.sessionId}/events`;

    const live = await openSse(path, token);
    const second = await http('POST', `${app.url}/v1/sessions/${sent.body.sessionId}/messages`, {
      token,
      body: { content: 'again please' },
    });
    const completed = await live.waitFor((e) => e.event === 'reply.completed', 10_000, 'reply.completed');
    live.close();
    expect(completed.data.message.id).toBe(second.body.reply.id);
    const deltas = live.events.filter((e) => e.event === 'reply.delta');
    expect(deltas.map((e) => e.data.delta).join('')).toBe(completed.data.message.content);

    const firstId = live.events[0]?.id as string;
    const replay = await openSse(path, token, { 'last-event-id': firstId });
    await replay.waitFor((e) => e.event === 'reply.completed', 10_000, 'the replayed reply.completed');
    replay.close();
    expect(replay.events.map((e) => e.id)).toEqual(live.events.slice(1).map((e) => e.id));
  });
});
