import { startCluster } from '../support/cluster.js';
import { createTestDatabase, productionEnv, uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { defineLocalExtractionSuite } from './local-extraction.suite.js';

defineLocalExtractionSuite('production: PostgreSQL + Redis, 2 processes', async () => {
  const database = await createTestDatabase();
  const cluster = await startCluster(2, productionEnv(database, uniqueName('t')));
  return {
    urls: cluster.urls,
    token: (userId) => tokenFor(userId),
    close: async () => {
      await cluster.stop();
      await database.drop();
    },
  };
});
