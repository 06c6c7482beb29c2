import { startCluster } from '../support/cluster.js';
import { createTestDatabase, productionEnv, uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { defineInstructionsSuite } from './instructions.suite.js';

defineInstructionsSuite('production: PostgreSQL + Redis, 2 processes', async (env) => {
  const database = await createTestDatabase();
  const cluster = await startCluster(2, productionEnv(database, uniqueName('t'), env));
  return {
    urls: cluster.urls,
    token: (userId) => tokenFor(userId),
    close: async () => {
      await cluster.stop();
      await database.drop();
    },
  };
});
