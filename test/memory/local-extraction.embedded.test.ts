import { startEmbeddedTarget } from '../support/targets.js';
import { defineLocalExtractionSuite } from './local-extraction.suite.js';

defineLocalExtractionSuite('embedded: PGlite + in-process coordination', () => startEmbeddedTarget());
