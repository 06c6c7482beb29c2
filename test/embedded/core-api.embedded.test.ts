import { startApp, stopAll } from '../support/cluster.js';
import { defineCoreApiSuite } from '../support/core-api.suite.js';
import { embeddedDataDir, embeddedEnv } from '../support/embedded.js';
import { badTokens, tokenFor } from '../support/tokens.js';

defineCoreApiSuite('embedded: PGlite + in-process coordination', async () => {
  const dir = embeddedDataDir();
  const app = await startApp({ env: embeddedEnv(dir.path) });
  return {
    url: app.url,
    token: (userId) => tokenFor(userId),
    badTokens,
    close: async () => {
      await stopAll([app]);
      dir.remove();
    },
  };
});
