import { pick, type Scenario } from '../context.js';

export const history: Scenario = {
  name: 'history-read',
  description: 'Authenticated GET of a 20-message history, random user of the seeded set',
  target: 'parley',
  requests: ({ users }) => [
    {
      method: 'GET',
      setupRequest: (request) => {
        const user = pick(users);
        return {
          ...request,
          path: `/v1/sessions/${user.sessionId}/messages`,
          headers: { authorization: `Bearer ${user.token}` },
        };
      },
    },
  ],
};
