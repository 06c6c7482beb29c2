import { pick, type BenchContext, type Scenario } from '../context.js';

const SEND_SHARE = 0.1;

/** 90 % history reads, 10 % sends into the same sessions (each send moves that session's version). */
export function readMix(context: BenchContext): ReturnType<Scenario['requests']> {
  return [
    {
      method: 'GET',
      setupRequest: (request) => {
        const user = pick(context.users);
        const path = `/v1/sessions/${user.sessionId}/messages`;
        if (Math.random() < SEND_SHARE) {
          return {
            ...request,
            method: 'POST',
            path,
            headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              content: 'And what about tomorrow?',
              clientMessageId: `mix-${context.counter.next()}`,
            }),
          };
        }
        return {
          ...request,
          method: 'GET',
          path,
          headers: { authorization: `Bearer ${user.token}` },
          body: undefined,
        };
      },
    },
  ];
}

export const readMixCached: Scenario = {
  name: 'read-mix-cached',
  description: '90 % history reads / 10 % sends over the seeded users, cache on',
  target: 'parley',
  requests: readMix,
};

export const readMixUncached: Scenario = {
  name: 'read-mix-uncached',
  description: 'The same mix against the same app with CACHE_ENABLED=false',
  target: 'parley-uncached',
  requests: readMix,
};
