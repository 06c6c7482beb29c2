import { Writable } from 'node:stream';
import { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logger.js';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

/** Log lines written to memory by a logger built exactly as Parley builds its own. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: () => string[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('no log line carries message content, a token or a database parameter', () => {
  const fx = withCluster(1, { LOG_LEVEL: 'debug' });

  it('at debug level, a whole conversation leaves no content and no token in the log', async () => {
    const marker = uniqueName('secretmarker');
    const token = await tokenFor(uniqueName('user'));
    const session = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: { title: `${marker} title` } });
    const sent = await http('POST', `${fx.app.url}/v1/sessions/${session.body.id as string}/messages`, {
      token,
      body: { content: `my name is ${marker}`, clientMessageId: `${marker}-key` },
    });
    expect(sent.status).toBe(202);
    await http('POST', `${fx.app.url}/v1/chat/send`, { token, body: { message: `remember that ${marker}` } });
    await http('POST', `${fx.app.url}/v1/memories`, { token, body: { content: `${marker} memory` } });
    await http('GET', `${fx.app.url}/v1/memories?q=${marker}`, { token });
    await http('PATCH', `${fx.app.url}/v1/sessions/${session.body.id as string}`, {
      token,
      body: { title: `${marker}!` },
    });
    // Refused requests too: a bad body, a forged token, a wrong id.
    await http('POST', `${fx.app.url}/v1/sessions`, { token, body: { title: marker.repeat(20) } });
    await http('GET', `${fx.app.url}/v1/sessions/${marker}`, { token });
    await http('GET', `${fx.app.url}/v1/sessions`, { token: `${token}x` });
    const replyId = sent.body.reply.id as string;
    await eventually(async () => {
      const reply = await http('GET', `${fx.app.url}/v1/sessions/${session.body.id as string}/messages/${replyId}`, {
        token,
      });
      return reply.body.status === 'complete' ? true : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const log = fx.app.output();
    expect(log).toContain('request answered');
    expect(log).not.toContain(marker);
    expect(log).not.toContain(token.split('.')[2]);
  });

  it('a database error is logged with its code and the query name, not its parameters or message', async () => {
    const source = new DataSource({ type: 'postgres', url: fx.db.url });
    await source.initialize();
    const secret = uniqueName('parameter');
    const { logger, lines } = capturedLogger();
    try {
      await source.query('SELECT id FROM no_such_table WHERE id = $1', [secret]).catch((error: unknown) => {
        logger.error({ err: error }, 'request failed');
      });
      await source.query('SELECT $1::uuid AS id', [secret]).catch((error: unknown) => {
        logger.warn({ error }, 'query failed');
      });
    } finally {
      await source.destroy();
    }
    const logged = lines().map((line) => JSON.parse(line) as { err?: object; error?: object });
    expect(logged).toHaveLength(2);
    expect(logged[0]?.err).toEqual({ type: 'QueryFailedError', code: '42P01', query: 'select no_such_table' });
    expect(logged[1]?.error).toEqual({ type: 'QueryFailedError', code: '22P02', query: 'select' });
    expect(lines().join('\n')).not.toContain(secret);
  });
});
