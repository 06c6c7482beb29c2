import { startProductionTarget } from '../support/targets.js';
import { defineSearchSuite, SEARCH_ENV } from './search.suite.js';

defineSearchSuite('production: PostgreSQL + Redis, 2 processes', () => startProductionTarget(2, SEARCH_ENV));
