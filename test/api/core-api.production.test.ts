import { startApp, stopAll } from '../support/cluster.js';
import { defineCoreApiSuite } from '../support/core-api.suite.js';
import { createTestDatabase, productionEnv, uniqueName } from '../support/services.js';
import { badTokens, tokenFor } from '../support/tokens.js';

defineCoreApiSuite('production: PostgreSQL + Redis', async () => {
  const database = await createTestDatabase();
  const app = await startApp({ env: productionEnv(database, uniqueName('t')) });
  return {
    url: app.url,
    token: (userId) => tokenFor(userId),
    badTokens,
    close: async () => {
      await stopAll([app]);
      await database.drop();
    },
  };
});
