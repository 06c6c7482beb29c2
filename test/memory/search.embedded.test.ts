import { startEmbeddedTarget } from '../support/targets.js';
import { defineSearchSuite, SEARCH_ENV } from './search.suite.js';

defineSearchSuite('embedded: PGlite + in-process coordination', () => startEmbeddedTarget(SEARCH_ENV));
