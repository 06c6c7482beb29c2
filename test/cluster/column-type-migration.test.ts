import { describe, expect, it } from 'vitest';
import { history, newSession } from '../support/api.js';
import { eventually, http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { topologies } from '../support/topology.js';
import { withCluster } from '../support/with-cluster.js';

const USERS = 8;

/**
 * A rolling deploy whose migration widens columns the running processes read (the messages'
 * idempotency key, the sessions' title) while they serve. Their connections prepared every
 * statement that returns those columns before the change, and PostgreSQL refuses each of them once
 * the type changed: the processes prepare them afresh, and nobody sees a 500. Straight to
 * PostgreSQL, and through a PgBouncer that keeps prepared statements (and shares one server
 * statement among the processes that prepare the same text).
 */
describe.each(topologies().filter((topology) => topology.prepares))(
  'a migration changes column types under two serving processes ($name)',
  (topology) => {
    const fx = withCluster(
      2,
      { MAX_PENDING_REPLIES: '1000', RATE_LIMIT_SENDS: '100000', RATE_LIMIT_READS: '100000' },
      { topology },
    );

    it('answers every send, new session, history and session list after the change, and every reply completes', async () => {
      const tokens = await Promise.all(Array.from({ length: USERS }, () => tokenFor(uniqueName('user'))));
      const sessions = await Promise.all(tokens.map((token, i) => newSession(fx.cluster.url(i), { token }, 'before')));
      const send = (i: number, round: number): Promise<number> =>
        http('POST', `${fx.cluster.url(i + round)}/v1/sessions/${sessions[i]}/messages`, {
          token: tokens[i],
          body: { content: `round ${round}`, clientMessageId: `key-${round}-${i}` },
        }).then((response) => response.status);
      const read = (i: number, round: number): Promise<number> =>
        history(fx.cluster.url(i + round), { token: tokens[i] as string }, sessions[i] as string).then(
          (response) => response.status,
        );

      // Before: every statement of a send, a reply and a read is prepared on both processes.
      for (const round of [0, 1]) {
        expect(await Promise.all(tokens.map((_, i) => send(i, round)))).toEqual(Array(USERS).fill(202));
        expect(await Promise.all(tokens.map((_, i) => read(i, round)))).toEqual(Array(USERS).fill(200));
      }

      await fx.db.query('ALTER TABLE messages ALTER COLUMN client_message_id TYPE varchar(128)');
      await fx.db.query('ALTER TABLE sessions ALTER COLUMN title TYPE varchar(300)');

      const statuses = await Promise.all(
        tokens.flatMap((token, i) => [
          send(i, 2),
          send(i, 3),
          read(i, 2),
          http('POST', `${fx.cluster.url(i)}/v1/sessions`, { token, body: { title: 'after' } }).then(
            (response) => response.status,
          ),
          http('GET', `${fx.cluster.url(i + 1)}/v1/sessions`, { token }).then((response) => response.status),
        ]),
      );
      expect(statuses).toEqual(Array(USERS).fill([202, 202, 200, 201, 200]).flat());

      // The replies (the workers' statements return the widened column too) all complete.
      const done = await eventually(async () => {
        const rows = await fx.db.query<{ status: string; n: number }>(
          "SELECT status, count(*)::int AS n FROM messages WHERE role = 'assistant' GROUP BY status",
        );
        return rows.length === 1 && rows[0]?.status === 'complete' ? rows[0].n : undefined;
      }, 30_000);
      expect(done).toBe(USERS * 4);
      for (const [i, token] of tokens.entries()) {
        const page = await history(fx.cluster.url(i), { token }, sessions[i] as string);
        expect(page.status).toBe(200);
        const own = (page.body.items as Array<{ role: string; content: string }>)
          .filter((message) => message.role === 'user')
          .map((message) => message.content);
        // Rounds 2 and 3 were sent together: either may be first.
        expect(own.sort()).toEqual([0, 1, 2, 3].map((round) => `round ${round}`));
      }
    });
  },
);
