import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { from, HEALTHY, IDLE, pod, promtoolTests, share, type Rule, type Scenario } from './alert-scenarios.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const ruleResource = parse(readFileSync(join(root, 'k8s/prometheus-rules.yaml'), 'utf8'));
const rules: Rule[] = ruleResource.spec.groups.flatMap((group: { rules: Rule[] }) => group.rules);
const alerts = rules.map((rule) => rule.alert);

const healthyFleet = (): ReturnType<typeof pod>[] => [pod('a', 'api'), pod('b', 'api'), pod('w', 'worker')];
const fleetWith = (api: typeof HEALTHY, worker: typeof HEALTHY = api): ReturnType<typeof pod>[] => [
  pod('a', 'api', api),
  pod('b', 'api', api),
  pod('w', 'worker', worker),
];
const quiet = (...minutes: number[]): Scenario['expect'] => minutes.map((minute) => ({ minute, firing: [] }));

const BACKLOG = { ...HEALTHY, waiting: 150 };
const apiPods = (m: number): number => 2 + [15, 19, 23].filter((joins) => m >= joins).length;
const workerPods = (m: number): number => 1 + [17, 21].filter((joins) => m >= joins).length;

/** Situations every alert must sleep through. */
const SILENT: Scenario[] = [
  {
    name: 'idle: no traffic, probes only, empty queue',
    pods: fleetWith(IDLE),
    expect: quiet(20, 40, 60),
  },
  {
    name: 'scale-up: five pods join one by one from minute 15, sharing the same traffic and a steady backlog',
    pods: [
      ...[0, 0, 15, 19, 23].map((joins, i) =>
        pod(
          `api${i}`,
          'api',
          share(BACKLOG, (m) => 2 / apiPods(m)),
          { from: joins },
        ),
      ),
      ...[0, 17, 21].map((joins, i) =>
        pod(
          `worker${i}`,
          'worker',
          share(BACKLOG, (m) => 1 / workerPods(m)),
          { from: joins },
        ),
      ),
    ],
    expect: quiet(16, 25, 30, 40, 60),
  },
  {
    name: 'restart: one api pod and one worker of five restart (scrapes fail, counters start over)',
    pods: [
      pod('a', 'api'),
      pod('b', 'api', HEALTHY, { down: [20, 21] }),
      pod('c', 'api'),
      pod('w', 'worker', HEALTHY, { down: [30] }),
      pod('w2', 'worker'),
    ],
    expect: quiet(21, 22, 25, 31, 35, 45, 60),
  },
  {
    name: 'readiness probes answer 503 on draining pods while the API serves',
    pods: fleetWith({ ...HEALTHY, probes503: 12 }),
    expect: quiet(20, 40),
  },
];

/** The situation each alert exists for. */
const FIRING: Scenario[] = [
  {
    name: 'ParleyTargetDown: one pod cannot be scraped from minute 10',
    pods: [
      pod('a', 'api'),
      pod('b', 'api', HEALTHY, { down: Array.from({ length: 51 }, (_, i) => 10 + i) }),
      pod('w', 'worker'),
    ],
    expect: [
      { minute: 11, firing: [] },
      {
        minute: 20,
        firing: [{ alert: 'ParleyTargetDown', labels: { job: 'parley', instance: 'b', component: 'api' } }],
      },
    ],
  },
  {
    name: 'ParleyRedisDown: one pod of three loses Redis',
    pods: [pod('a', 'api'), pod('b', 'api', { ...HEALTHY, redisUp: from(10, 1, 0) }), pod('w', 'worker')],
    expect: [
      { minute: 11, firing: [] },
      { minute: 15, firing: [{ alert: 'ParleyRedisDown' }] },
    ],
  },
  {
    name: 'ParleyHighLatencyP95: reads slow down past 1 s',
    pods: fleetWith({
      ...HEALTHY,
      readsUnder100ms: from(10, 570, 0),
      readsUnder1s: from(10, 600, 100),
      readsUnder5s: 600,
    }),
    expect: [
      { minute: 12, firing: [] },
      { minute: 30, firing: [{ alert: 'ParleyHighLatencyP95' }] },
    ],
  },
  {
    name: 'ParleyChatSendSlow: most /v1/chat/send calls wait longer than 10 s',
    pods: fleetWith({ ...HEALTHY, sendsUnder10s: from(10, 9, 2) }),
    expect: [
      { minute: 12, firing: [] },
      { minute: 35, firing: [{ alert: 'ParleyChatSendSlow' }] },
    ],
  },
  {
    name: 'ParleySseOpenFailures: a seventh of event-stream opens fail (closed at once, or 5xx)',
    pods: fleetWith({
      ...HEALTHY,
      sseOpened: from(10, 20, 18),
      sseUnavailable: from(10, 0, 2),
      sse5xx: from(10, 0, 1),
    }),
    expect: [
      { minute: 12, firing: [] },
      { minute: 25, firing: [{ alert: 'ParleySseOpenFailures' }] },
    ],
  },
  {
    name: 'ParleySseOpenFailures: a few opens fail on a quiet system (under 10 in 10 minutes)',
    pods: fleetWith({
      ...IDLE,
      sseOpened: (m) => (m % 10 === 0 ? 1 : 0),
      sseUnavailable: (m) => (m % 10 === 5 ? 1 : 0),
    }),
    expect: quiet(20, 40, 60),
  },
  {
    name: 'ParleyRepliesSlow: replies take longer than the chat/send wait',
    pods: fleetWith(HEALTHY, {
      ...HEALTHY,
      repliesUnder5s: from(10, 28, 0),
      repliesUnder30s: from(10, 30, 5),
      repliesUnder60s: 30,
    }),
    expect: [
      { minute: 12, firing: [] },
      { minute: 35, firing: [{ alert: 'ParleyRepliesSlow' }] },
    ],
  },
  {
    name: 'ParleyLowCacheHitRate: most look-ups miss both tiers',
    pods: fleetWith({ ...HEALTHY, cache: { memoryHit: 10, memoryMiss: 390, redisHit: 10, redisMiss: 380 } }),
    expect: [
      { minute: 10, firing: [] },
      { minute: 30, firing: [{ alert: 'ParleyLowCacheHitRate' }] },
    ],
  },
  {
    name: 'ParleyHigh5xxRate: 5 % of reads answer 5xx',
    pods: fleetWith({ ...HEALTHY, reads5xx: from(10, 0, 30) }),
    expect: [
      { minute: 12, firing: [] },
      { minute: 20, firing: [{ alert: 'ParleyHigh5xxRate' }] },
    ],
  },
  {
    name: 'ParleyQueueBacklogGrowing: the queue grows by 20 a minute',
    pods: fleetWith({ ...HEALTHY, waiting: (m) => 100 + 20 * m }),
    expect: [
      { minute: 5, firing: [] },
      { minute: 30, firing: [{ alert: 'ParleyQueueBacklogGrowing' }] },
    ],
  },
  {
    name: 'ParleyWorkersNotConsuming: the worker stops finishing replies while 20 wait',
    pods: fleetWith(
      { ...HEALTHY, waiting: 20 },
      {
        ...HEALTHY,
        waiting: 20,
        complete: from(10, 30, 0),
        repliesUnder5s: from(10, 28, 0),
        repliesUnder30s: from(10, 30, 0),
        repliesUnder60s: from(10, 30, 0),
        llmCalls: from(10, 30, 0),
      },
    ),
    expect: [
      { minute: 14, firing: [] },
      { minute: 25, firing: [{ alert: 'ParleyWorkersNotConsuming' }] },
    ],
  },
  {
    name: 'ParleyWorkersNotConsuming: every worker is gone while replies wait',
    pods: [
      pod('a', 'api', { ...HEALTHY, waiting: 20 }),
      pod('b', 'api', { ...HEALTHY, waiting: 20 }),
      pod('w', 'worker', HEALTHY, { to: 9 }),
    ],
    expect: [
      { minute: 12, firing: [] },
      { minute: 25, firing: [{ alert: 'ParleyWorkersNotConsuming' }] },
    ],
  },
  {
    name: 'ParleyFailedRepliesHigh: one reply in six fails',
    pods: fleetWith(HEALTHY, { ...HEALTHY, complete: from(10, 30, 25), failed: from(10, 0, 5) }),
    expect: [
      { minute: 12, firing: [] },
      { minute: 25, firing: [{ alert: 'ParleyFailedRepliesHigh' }] },
    ],
  },
  {
    name: 'ParleyLlmErrorsHigh: a fifth of the LLM calls fail (retries still complete the replies)',
    pods: fleetWith(HEALTHY, { ...HEALTHY, llmErrors: from(10, 0, 6) }),
    expect: [
      { minute: 12, firing: [] },
      { minute: 25, firing: [{ alert: 'ParleyLlmErrorsHigh' }] },
    ],
  },
  {
    name: 'ParleyDbPoolSaturated: one pod uses its whole pool with requests waiting',
    pods: [
      pod('a', 'api', { ...HEALTHY, poolTotal: from(10, 4, 10), poolWaiting: from(10, 0, 3) }),
      pod('b', 'api'),
      pod('w', 'worker'),
    ],
    expect: [
      { minute: 12, firing: [] },
      { minute: 20, firing: [{ alert: 'ParleyDbPoolSaturated', labels: { instance: 'a' } }] },
    ],
  },
  {
    name: 'ParleySecurityEvents: one client probes other users’ sessions',
    pods: fleetWith({ ...HEALTHY, securityEvents: from(10, 1, 30) }),
    expect: [
      { minute: 9, firing: [] },
      { minute: 15, firing: [{ alert: 'ParleySecurityEvents', labels: { type: 'session_forbidden' } }] },
    ],
  },
  {
    name: 'ParleySecurityEvents: a burst in the first minute of a new pod (its counter starts at 0)',
    pods: [
      ...healthyFleet(),
      pod('c', 'api', { ...HEALTHY, securityEvents: (m) => (m === 11 ? 25 : 0) }, { from: 10 }),
    ],
    expect: [{ minute: 12, firing: [{ alert: 'ParleySecurityEvents', labels: { type: 'session_forbidden' } }] }],
  },
];

describe('alert rules (promtool)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-alerts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are valid rule groups', async () => {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: ruleResource.spec.groups }));
    const { stdout } = await run('promtool', ['check', 'rules', join(dir, 'rules.yaml')]);
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('every alert fires in a scenario of its own and stays silent in at least two others', () => {
    for (const alert of alerts) {
      const fires = FIRING.filter((s) => s.expect.some((e) => e.firing.some((f) => f.alert === alert)));
      const silent = [...SILENT, ...FIRING].filter((s) =>
        s.expect.some((e) => !e.firing.some((f) => f.alert === alert)),
      );
      expect(fires.length, alert).toBeGreaterThanOrEqual(1);
      expect(silent.length, alert).toBeGreaterThanOrEqual(2);
    }
    expect(new Set(alerts).size).toBe(alerts.length);
  });

  it('pass promtool test rules: firing where they should, silent when idle, after a scale-up, through a restart', async () => {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: ruleResource.spec.groups }));
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: promtoolTests([...SILENT, ...FIRING], rules),
    };
    writeFileSync(join(dir, 'alerts.test.yaml'), stringify(tests, { lineWidth: 0 }));
    const result = await run('promtool', ['test', 'rules', join(dir, 'alerts.test.yaml')]).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    if ('code' in result || result.stderr.includes('FAILED')) {
      cpSync(join(dir, 'alerts.test.yaml'), join(tmpdir(), 'parley-alerts.failed.test.yaml'));
    }
    expect(`${result.stdout}${result.stderr}`).not.toContain('FAILED');
    expect(result.stdout).toContain('SUCCESS');
  });
});
