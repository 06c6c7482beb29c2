import { startEmbeddedTarget } from '../support/targets.js';
import { defineMemoriesSuite } from './memories.suite.js';

defineMemoriesSuite('embedded: PGlite + in-process coordination', () => startEmbeddedTarget());
