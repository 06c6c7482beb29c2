import { pick, type Scenario } from '../context.js';

export const sessionsList: Scenario = {
  name: 'sessions-read',
  description:
    "Authenticated GET of the user's session list (cached under the owner's version), random user of the seeded set",
  target: 'parley',
  requests: ({ users }) => [
    {
      method: 'GET',
      setupRequest: (request) => {
        const user = pick(users);
        return { ...request, path: '/v1/sessions', headers: { authorization: `Bearer ${user.token}` } };
      },
    },
  ],
};
