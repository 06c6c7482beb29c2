import { startApp, stopAll } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv } from '../support/embedded.js';
import { tokenFor } from '../support/tokens.js';
import { defineLocalExtractionSuite } from './local-extraction.suite.js';

defineLocalExtractionSuite('embedded: PGlite + in-process coordination', async () => {
  const dir = embeddedDataDir();
  // PGlite's first start (initdb in WebAssembly) is slow on a busy machine.
  const app = await startApp({ env: embeddedEnv(dir.path), timeoutMs: 60_000 });
  return {
    urls: [app.url],
    token: (userId) => tokenFor(userId),
    close: async () => {
      await stopAll([app]);
      dir.remove();
    },
  };
});
