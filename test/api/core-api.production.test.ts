import { defineCoreApiSuite } from '../support/core-api.suite.js';
import { startProductionTarget } from '../support/targets.js';
import { badTokens } from '../support/tokens.js';

defineCoreApiSuite('production: PostgreSQL + Redis', async () => ({ ...(await startProductionTarget(1)), badTokens }));
