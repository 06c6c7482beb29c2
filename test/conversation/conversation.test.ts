import { startProductionTarget } from '../support/targets.js';
import { defineConversationSuite, fakeProviderEnv } from './conversation.suite.js';

defineConversationSuite('PostgreSQL + Redis', (fake) => startProductionTarget(1, fakeProviderEnv(fake)));
