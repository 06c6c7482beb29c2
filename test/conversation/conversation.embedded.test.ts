import { startApp, stopAll } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv } from '../support/embedded.js';
import { tokenFor } from '../support/tokens.js';
import { defineConversationSuite, fakeProviderEnv } from './conversation.suite.js';

defineConversationSuite('embedded', async (fake) => {
  const dir = embeddedDataDir();
  const app = await startApp({ env: embeddedEnv(dir.path, fakeProviderEnv(fake)) });
  return {
    url: app.url,
    token: (userId) => tokenFor(userId),
    close: async () => {
      await stopAll([app]);
      dir.remove();
    },
  };
});
