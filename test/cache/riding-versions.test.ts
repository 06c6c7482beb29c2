import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheKeyBuilder, type VersionCounter } from '../../src/cache/cache-key.builder.js';
import { eventually, http } from '../support/http.js';
import { RedisMonitor, type MonitoredCommand as Command } from '../support/redis-monitor.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

/**
 * What one cached read asks of Redis, seen by MONITOR on the file's own Redis: its rate limit's
 * window and the versions its look-ups need travel in one command (one round trip), for a
 * session's routes and for the routes cached under one of the owner's collections alike.
 */
describe('a cached read asks Redis once: its rate limit and its versions in one command', () => {
  const fx = withCluster(1, {}, { privateRedis: true });
  const userId = uniqueName('rider');
  let token: string;
  let sessionId: string;
  let monitor: RedisMonitor;

  beforeAll(async () => {
    token = await tokenFor(userId);
    const created = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: { title: 'riding' } });
    expect(created.status).toBe(201);
    sessionId = created.body.id as string;
    monitor = await RedisMonitor.start(fx.redis.url);
  });

  afterAll(() => monitor?.close());

  const keys = (): CacheKeyBuilder => new CacheKeyBuilder(fx.env.REDIS_KEY_PREFIX as string);
  const throttleKey = (): string => `${fx.env.REDIS_KEY_PREFIX}:throttle:reads:user:${userId}`;

  /**
   * The commands the app's clients (not scripts) sent that name any of `wanted`, for one GET of
   * `path` answered from the cache; the GET is repeated (a first one fills the entry and creates
   * its counters) until one is.
   */
  async function commandsOfOneHit(path: string, wanted: readonly string[]): Promise<Command[]> {
    const naming = (): Command[] =>
      monitor.seen.filter((c) => c.source !== 'lua' && c.args.some((arg) => wanted.includes(arg)));
    return eventually(
      async () => {
        monitor.seen.length = 0;
        const answer = await http('GET', `${fx.app.url}${path}`, { token });
        if (answer.status !== 200) {
          throw new Error(`GET ${path}: ${answer.status} ${answer.text}`);
        }
        // Every command of the GET, which has answered.
        await monitor.caughtUp();
        const mine = naming();
        return mine.length > 0 && mine.every((c) => c.args.includes(throttleKey())) ? mine : undefined;
      },
      10_000,
      `one command for ${path}`,
    ).catch(() => naming());
  }

  function expectOneCommandWith(commands: Command[], counters: readonly VersionCounter[]): void {
    const names = [keys().epoch(), ...counters.map((counter) => keys().counter(counter))];
    expect(commands.length, JSON.stringify(commands)).toBe(1);
    const [only] = commands as [Command];
    expect(only.args[0]?.toLowerCase()).toMatch(/^evalsha$|^eval$/);
    expect(only.args).toContain(throttleKey());
    for (const name of names) {
      expect(only.args).toContain(name);
    }
  }

  it('a session route: the window, the session and its existence', async () => {
    const counters: VersionCounter[] = [
      { scope: 'session', id: sessionId },
      { scope: 'session-owner', id: sessionId },
    ];
    const wanted = [throttleKey(), ...counters.map((counter) => keys().counter(counter))];
    expectOneCommandWith(await commandsOfOneHit(`/v1/sessions/${sessionId}/messages`, wanted), counters);
  });

  it.each([
    ['/v1/sessions', 'sessions'],
    ['/v1/memories', 'memories'],
    ['/v1/search?q=riding', 'search'],
  ] as const)('%s: the window and the owner’s %s', async (path, scope) => {
    const counters: VersionCounter[] = [{ scope, id: userId }];
    const wanted = [throttleKey(), ...counters.map((counter) => keys().counter(counter))];
    expectOneCommandWith(await commandsOfOneHit(path, wanted), counters);
  });
});
