import { userRead } from './history.js';

export const sessionsList = userRead(
  'sessions-read',
  "Authenticated GET of the user's session list (cached under the owner's version), random user of the seeded set",
  () => '/v1/sessions',
);
