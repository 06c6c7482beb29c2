import { pick, type Scenario, type SeededUser } from '../context.js';

/** An authenticated GET of `pathOf(user)` by a random user of the seeded set, on Parley. */
export function userRead(name: string, description: string, pathOf: (user: SeededUser) => string): Scenario {
  return {
    name,
    description,
    target: 'parley',
    requests: ({ users }) => [
      {
        method: 'GET',
        setupRequest: (request) => {
          const user = pick(users);
          return { ...request, path: pathOf(user), headers: { authorization: `Bearer ${user.token}` } };
        },
      },
    ],
  };
}

export const history = userRead(
  'history-read',
  'Authenticated GET of a 20-message history, random user of the seeded set',
  (user) => `/v1/sessions/${user.sessionId}/messages`,
);
