import { beforeAll, describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { openSse } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

/**
 * Cache keys used the id as written while writes bumped the lower-case version: a session read
 * through its id in upper case stayed in the cache, old title and history included, after it was
 * renamed, written to and deleted. Ids are normalised before any key, lock or query is built.
 */
describe('a deleted or changed session is still served through its id in upper case', () => {
  const fx = withCluster(2);
  let token: string;

  beforeAll(async () => {
    token = await tokenFor(uniqueName('upper'));
  });

  const api = (method: string, path: string, i: number, body?: unknown) =>
    http(method, `${fx.cluster.url(i)}${path}`, { token, body });

  it('after PATCH, send and DELETE, the upper-case id answers what the lower-case one does, on every replica', async () => {
    const id = (await api('POST', '/v1/sessions', 0, { title: 'old title' })).body.id as string;
    const upper = id.toUpperCase();
    await api('POST', `/v1/sessions/${id}/messages`, 0, { content: 'first' });
    // Fill every cache entry the upper-case spelling could reach, on both replicas.
    for (const i of [0, 1]) {
      const got = await api('GET', `/v1/sessions/${upper}`, i);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id, title: 'old title' });
      expect((await api('GET', `/v1/sessions/${upper}/messages`, i)).body.items).toHaveLength(2);
    }

    expect((await api('PATCH', `/v1/sessions/${id}`, 1, { title: 'new title' })).status).toBe(200);
    for (const i of [0, 1]) {
      expect((await api('GET', `/v1/sessions/${upper}`, i)).body).toMatchObject({ id, title: 'new title' });
    }
    expect((await api('POST', `/v1/sessions/${id}/messages`, 0, { content: 'second' })).status).toBe(202);
    for (const i of [0, 1]) {
      const history = await api('GET', `/v1/sessions/${upper}/messages`, i);
      expect(history.body.items.map((m: any) => m.sessionId)).toEqual([id, id, id, id]);
    }
    // Writes through the upper-case spelling land on the same session and move the same versions.
    expect((await api('PATCH', `/v1/sessions/${upper}`, 0, { title: 'upper title' })).body.id).toBe(id);
    expect((await api('GET', `/v1/sessions/${id}`, 1)).body.title).toBe('upper title');

    expect((await api('DELETE', `/v1/sessions/${id}`, 1)).status).toBe(204);
    for (const i of [0, 1]) {
      expect((await api('GET', `/v1/sessions/${upper}`, i)).status).toBe(404);
      expect((await api('GET', `/v1/sessions/${upper}/messages`, i)).status).toBe(404);
      const stream = await openSse(`${fx.cluster.url(i)}/v1/sessions/${upper}/events`, token);
      expect(stream.status).toBe(404);
      stream.close();
    }
  });

  it('message and memory ids in upper case reach the same rows', async () => {
    const id = (await api('POST', '/v1/sessions', 0, {})).body.id as string;
    const sent = await api('POST', `/v1/sessions/${id}/messages`, 1, { content: 'hello' });
    const messageId = sent.body.message.id as string;
    const message = await api('GET', `/v1/sessions/${id.toUpperCase()}/messages/${messageId.toUpperCase()}`, 0);
    expect(message.status).toBe(200);
    expect(message.body).toMatchObject({ id: messageId, sessionId: id });

    const memory = await api('POST', '/v1/memories', 0, { content: 'upper-case memory' });
    expect((await api('DELETE', `/v1/memories/${(memory.body.id as string).toUpperCase()}`, 1)).status).toBe(204);
    const listed = await api('GET', '/v1/memories', 0);
    expect(listed.body.items.map((m: any) => m.id)).not.toContain(memory.body.id);
  });
});
