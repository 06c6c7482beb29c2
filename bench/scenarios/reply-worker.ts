import { setTimeout as sleep } from 'node:timers/promises';
import type { TestDatabase } from '../../test/support/services.js';
import { round, type BenchHarness, type Row, type Scenario, type SeededUser } from '../context.js';
import { cpuSecondsOf } from '../cpu-budget.js';

/** The longest a round may take to finish its replies and their memory extractions. */
const ROUND_TIMEOUT_MS = 300_000;

interface Finished {
  replies: number;
  extractions: number;
}

async function finished(db: TestDatabase): Promise<Finished> {
  const [row] = await db.query<Finished>(
    `SELECT (SELECT count(*)::int FROM messages WHERE role = 'assistant' AND status = 'complete') AS replies,
            (SELECT count(*)::int FROM memory_extractions) AS extractions`,
  );
  return row ?? { replies: 0, extractions: 0 };
}

/** Sends one message into each sender's session through `url`; the number answered 2xx. */
async function sendOneEach(harness: BenchHarness, url: string): Promise<number> {
  const users = harness.seeded.senders;
  let next = 0;
  const result = await harness.measure(
    url,
    [
      {
        method: 'POST',
        setupRequest: (request) => {
          const user = users[next % users.length] as SeededUser;
          next += 1;
          return {
            ...request,
            path: `/v1/sessions/${user.sessionId}/messages`,
            headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              content: 'How far is the moon?',
              clientMessageId: `reply-${harness.context.counter.next()}`,
            }),
          };
        },
      },
    ],
    { amount: users.length },
  );
  return result['2xx'];
}

/**
 * Waits until `sent` more replies are complete and their user messages' extractions are done. While
 * it waits it asks only for the replies still open (the partial index of open replies answers that)
 * and the extractions: a count of every reply in the table, 20 times a second, would put the
 * database's work on the cores the worker is measured on. The completed replies are counted once,
 * at the end.
 */
async function generated(db: TestDatabase, before: Finished, sent: number): Promise<void> {
  const deadline = Date.now() + ROUND_TIMEOUT_MS;
  for (;;) {
    const [now] = await db.query<{ open: number; extractions: number }>(
      `SELECT (SELECT count(*)::int FROM messages WHERE status IN ('pending', 'streaming')) AS open,
              (SELECT count(*)::int FROM memory_extractions) AS extractions`,
    );
    if (now !== undefined && now.open === 0 && now.extractions - before.extractions >= sent) {
      break;
    }
    if (Date.now() > deadline) {
      throw new Error(`reply-worker: ${now?.open} replies still open after ${ROUND_TIMEOUT_MS / 1000} s`);
    }
    await sleep(50);
  }
  const completed = (await finished(db)).replies - before.replies;
  if (completed < sent) {
    throw new Error(`reply-worker: ${completed} of ${sent} replies completed (the others failed)`);
  }
}

/**
 * The reply pipeline alone: an API-only process stores one send in each sender's session and
 * enqueues its reply, and a worker-only process on the same queue generates them with the local
 * responder (no delay). The worker serves nothing else (nothing scrapes it either: the round ends
 * when the database holds the replies and their memory extractions), so its CPU time over a round
 * divided by the replies is what one reply costs in all: the lock, the claim, the prompt, the
 * stream, the completion, its events and cache versions, the memory extraction it triggers, and
 * Bull's handling of both jobs. One send per session per round, as in the seed: replies queued
 * behind each other in one session would share the lock holder's work and cost less each.
 */
export const replyWorker: Scenario = {
  name: 'reply-worker',
  description: 'CPU per reply of a worker process alone (API-only process sending), one send per session per round',
  target: 'parley',
  users: 'senders',
  requests: () => [],
  async run(harness) {
    const prefix = `${harness.prefix}_replies`;
    const api = await harness.startParley({ APP_ROLE: 'api', REDIS_KEY_PREFIX: prefix });
    const worker = await harness.startParley({ APP_ROLE: 'worker', REDIS_KEY_PREFIX: prefix });
    const warmup = await finished(harness.db);
    await generated(harness.db, warmup, await sendOneEach(harness, api.url));
    const rows: Row[] = [];
    let replies = 0;
    let cpuSeconds = 0;
    let seconds = 0;
    for (let r = 1; r <= harness.rounds; r += 1) {
      const before = await finished(harness.db);
      // The worker's CPU and the replies it made, as the harness's tallies of CPU and requests.
      const start = { cpuSeconds: cpuSecondsOf(worker.pid), requests: 0 };
      const startedAt = Date.now();
      const sent = await sendOneEach(harness, api.url);
      await generated(harness.db, before, sent);
      const roundSeconds = (Date.now() - startedAt) / 1000;
      const end = { cpuSeconds: cpuSecondsOf(worker.pid), requests: sent };
      rows.push({
        round: r,
        target: 'reply-worker',
        replies: sent,
        seconds: round(roundSeconds, 2),
        repliesPerSecond: Math.round(sent / roundSeconds),
        cpuUsPerReply: harness.cpuPerRequest(start, end),
      });
      replies += sent;
      cpuSeconds += end.cpuSeconds - start.cpuSeconds;
      seconds += roundSeconds;
    }
    rows.push({
      round: 'all',
      target: 'reply-worker',
      replies,
      repliesPerSecond: seconds === 0 ? null : Math.round(replies / seconds),
      cpuUsPerReply: harness.cpuPerRequest({ cpuSeconds: 0, requests: 0 }, { cpuSeconds, requests: replies }),
    });
    return rows;
  },
};
