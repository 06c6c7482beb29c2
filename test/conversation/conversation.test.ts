import { startApp, stopAll } from '../support/cluster.js';
import { createTestDatabase, productionEnv, uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { defineConversationSuite, fakeProviderEnv } from './conversation.suite.js';

defineConversationSuite('PostgreSQL + Redis', async (fake) => {
  const db = await createTestDatabase();
  const app = await startApp({ env: productionEnv(db, uniqueName('conv'), fakeProviderEnv(fake)) });
  return {
    url: app.url,
    token: (userId) => tokenFor(userId),
    close: async () => {
      await stopAll([app]);
      await db.drop();
    },
  };
});
