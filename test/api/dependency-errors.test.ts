import { describe, expect, it, onTestFinished } from 'vitest';
import { http } from '../support/http.js';
import { lockWaiter, SessionRowHold } from '../support/row-lock.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { topologies } from '../support/topology.js';
import { withCluster } from '../support/with-cluster.js';

/**
 * A database that cannot answer in time is the server's trouble, not the client's mistake, and not
 * a bug: 503 with Retry-After (`overloaded` when the pool has no connection free, `unavailable`
 * when a statement times out), never a 500. Through PgBouncer in transaction mode too, where the
 * statement timeout is set per transaction (no startup parameter reaches the server) and the
 * server connection of the cancelled statement serves the next request.
 */
describe.each(topologies({ defaultPoolSize: 1 }))('a database that cannot answer in time ($name)', (topology) => {
  const fx = withCluster(
    1,
    { DATABASE_POOL_SIZE: '1', DATABASE_CONNECT_TIMEOUT_MS: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '2000' },
    { topology },
  );
  it('answers 503 with Retry-After when no pool connection frees up in time or a statement times out', async () => {
    const token = await tokenFor(uniqueName('user'));
    const session = (await http('POST', `${fx.app.url}/v1/sessions`, { token, body: {} })).body.id as string;
    const messages = `${fx.app.url}/v1/sessions/${session}/messages`;

    const blocker = await SessionRowHold.take(fx.db, session);
    onTestFinished(() => blocker.close());
    // This send takes the pool's only connection and waits on the row lock until its statement times out.
    const stuck = http('POST', messages, { token, body: { content: 'waits on the lock' } });
    await lockWaiter(fx.db, 'the send to hold the only connection');

    const serversBefore = await topology.bouncer?.servers(fx.db.name);
    const starved = await http('GET', messages, { token });
    expect(starved.status).toBe(503);
    expect(starved.body.code).toBe('overloaded');
    expect(Number(starved.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(starved.body.requestId).toBe(starved.headers.get('x-request-id'));

    const timedOut = await stuck;
    expect(timedOut.status).toBe(503);
    expect(timedOut.body.code).toBe('unavailable');
    expect(timedOut.body.message).toMatch(/statement timeout/);
    expect(timedOut.headers.get('retry-after')).toBe('2');

    await blocker.release('ROLLBACK');
    const sent = await http('POST', messages, { token, body: { content: 'after the lock' } });
    expect(sent.status).toBe(202);
    const history = await http('GET', messages, { token });
    expect(history.body.items.map((m: any) => m.content)).toEqual(['after the lock', expect.any(String)]);
    if (topology.bouncer !== undefined) {
      // PgBouncer's one server connection: the same backend before the timeout and after it.
      expect(serversBefore).toHaveLength(1);
      expect(await topology.bouncer.servers(fx.db.name)).toEqual(serversBefore);
    }
  });
});
