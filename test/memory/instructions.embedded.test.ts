import { startEmbeddedTarget } from '../support/targets.js';
import { defineInstructionsSuite } from './instructions.suite.js';

defineInstructionsSuite('embedded: PGlite + in-process coordination', (env) => startEmbeddedTarget(env));
