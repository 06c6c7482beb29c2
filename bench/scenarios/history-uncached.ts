import type { Scenario } from '../context.js';
import { history } from './history.js';

export const historyUncached: Scenario = {
  ...history,
  name: 'history-read-uncached',
  description: 'The history-read scenario against the same app with CACHE_ENABLED=false',
  target: 'parley-uncached',
};
