import { startProductionTarget } from '../support/targets.js';
import { defineInstructionsSuite } from './instructions.suite.js';

defineInstructionsSuite('production: PostgreSQL + Redis, 2 processes', (env) => startProductionTarget(2, env));
