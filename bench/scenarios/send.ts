import { pick, type Scenario } from '../context.js';

export const send: Scenario = {
  name: 'send',
  description: 'Authenticated POST of a message (stored with its pending reply, enqueued), random user',
  target: 'parley',
  users: 'senders',
  requests: ({ users, counter }) => [
    {
      method: 'POST',
      setupRequest: (request) => {
        const user = pick(users);
        return {
          ...request,
          path: `/v1/sessions/${user.sessionId}/messages`,
          headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ content: 'How far is the moon?', clientMessageId: `bench-${counter.next()}` }),
        };
      },
    },
  ],
};
