import { startApp, stopAll } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv } from '../support/embedded.js';
import { tokenFor } from '../support/tokens.js';
import { defineMemoriesSuite } from './memories.suite.js';

defineMemoriesSuite('embedded: PGlite + in-process coordination', async () => {
  const dir = embeddedDataDir();
  const app = await startApp({ env: embeddedEnv(dir.path) });
  return {
    urls: [app.url],
    token: (userId) => tokenFor(userId),
    close: async () => {
      await stopAll([app]);
      dir.remove();
    },
  };
});
