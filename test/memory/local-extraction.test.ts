import { startProductionTarget } from '../support/targets.js';
import { defineLocalExtractionSuite } from './local-extraction.suite.js';

defineLocalExtractionSuite('production: PostgreSQL + Redis, 2 processes', () => startProductionTarget(2));
