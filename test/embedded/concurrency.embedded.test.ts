import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv, type EmbeddedDir } from '../support/embedded.js';
import { eventually, http } from '../support/http.js';
import { tokenFor } from '../support/tokens.js';

const SENDS = 50;

describe('embedded mode under concurrency (one PGlite session, serialised transactions)', () => {
  let dir: EmbeddedDir;
  let app: AppProcess;

  beforeAll(async () => {
    dir = embeddedDataDir();
    app = await startApp({ env: embeddedEnv(dir.path, { MAX_PENDING_REPLIES: '1000', RATE_LIMIT_SENDS: '100000' }) });
  });

  afterAll(async () => {
    await stopAll([app]);
    dir.remove();
  });

  it(`keeps seq contiguous for ${SENDS} concurrent sends to one session, each key sent twice at once`, async () => {
    const token = await tokenFor('embedded-user');
    const session = await http('POST', `${app.url}/v1/sessions`, { token, body: {} });
    const path = `${app.url}/v1/sessions/${session.body.id as string}/messages`;
    const sends = await Promise.all(
      Array.from({ length: SENDS }, (_, i) => {
        const key = `k${Math.floor(i / 2)}`;
        return http('POST', path, { token, body: { content: key, clientMessageId: key } });
      }),
    );
    const unique = SENDS / 2;
    const refused = sends.filter((s) => s.status !== 202 && s.status !== 200).map((s) => [s.status, s.body]);
    expect(refused, `${JSON.stringify(refused.slice(0, 3))}\n${app.output().slice(-3000)}`).toEqual([]);
    expect(sends.filter((s) => s.status === 202)).toHaveLength(unique);
    expect(sends.filter((s) => s.status === 200)).toHaveLength(unique);

    const items = await eventually(
      async () => {
        const history = await http('GET', `${path}?limit=200`, { token });
        expect(history.status, `${JSON.stringify(history.body)}\n${app.output().slice(-3000)}`).toBe(200);
        return history.body.items.every((m: any) => m.status === 'complete') ? history.body.items : undefined;
      },
      60_000,
      'replies to complete',
    );
    expect(items.map((m: any) => m.seq)).toEqual(Array.from({ length: 2 * unique }, (_, i) => i + 1));
    for (const reply of items.filter((m: any) => m.role === 'assistant')) {
      expect(items.find((m: any) => m.id === reply.replyTo)?.seq).toBe(reply.seq - 1);
    }
  });
});
