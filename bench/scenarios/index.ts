import type { Scenario } from '../context.js';
import { bare } from './bare.js';
import { builds } from './builds.js';
import { gcModes } from './gc-modes.js';
import { history } from './history.js';
import { historyUncached } from './history-uncached.js';
import { readMixCached, readMixUncached } from './read-mix.js';
import { readVsBare } from './read-vs-bare.js';
import { replyWorker } from './reply-worker.js';
import { seed } from './seed-scenario.js';
import { send } from './send.js';
import { sendPgbouncer } from './send-pgbouncer.js';
import { sendToReply0ms, sendToReply20ms } from './send-to-reply.js';
import { sendVsPgbench } from './send-vs-pgbench.js';
import { sessionsList } from './sessions-list.js';

/** Every scenario, in the order they run; `npm run bench -- <name...>` picks some. */
export const SCENARIOS: Scenario[] = [
  bare,
  history,
  sessionsList,
  historyUncached,
  send,
  readMixCached,
  readMixUncached,
  sendToReply0ms,
  sendToReply20ms,
  replyWorker,
  readVsBare,
  sendVsPgbench,
  sendPgbouncer,
  seed,
  gcModes,
  builds,
];
