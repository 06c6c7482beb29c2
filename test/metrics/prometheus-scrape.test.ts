import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { AppProcess } from '../support/cluster.js';
import { eventually, http } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { uniqueName } from '../support/services.js';
import { openSse, type SseClient } from '../support/sse.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const METRICS_TOKEN = 'prometheus-scrape-token';
const root = join(import.meta.dirname, '../..');
const ruleResource = parse(readFileSync(join(root, 'k8s/prometheus-rules.yaml'), 'utf8'));
const rules: Array<{ alert: string; expr: string }> = ruleResource.spec.groups.flatMap((group: any) => group.rules);
const dashboard = JSON.parse(readFileSync(join(root, 'k8s/grafana-dashboard.json'), 'utf8'));
const panelTargets: Array<{ title: string; expr: string }> = dashboard.panels.flatMap((panel: any) =>
  panel.targets.map((target: any) => ({
    title: `${panel.title as string} [${target.legendFormat as string}]`,
    expr: target.expr as string,
  })),
);
/** Series that exist only once their event happened (a 429, a 503 from shedding, a pod down): no data is right. */
const ONLY_ON_EVENTS = /parley_throttled_requests_total|parley_shed_requests_total|up\{job="parley"\} == 0/;

interface QueryResult {
  status: string;
  error?: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe('a real Prometheus scraping two Parley processes with the bearer token', () => {
  const fx = withCluster([{ role: 'api' }, { role: 'worker' }], { METRICS_TOKEN, DATABASE_POOL_SIZE: '4' });
  let prometheus: ChildProcess;
  let prometheusUrl: string;
  let prometheusLog = '';
  let dir: string;

  const query = async (expr: string): Promise<QueryResult> => {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as QueryResult;
  };
  const alerts = async (): Promise<Array<{ labels: { alertname: string }; state: string }>> =>
    ((await (await fetch(`${prometheusUrl}/api/v1/alerts`)).json()) as any).data.alerts;

  beforeAll(async () => {
    const [api, worker] = fx.cluster.apps as [AppProcess, AppProcess];
    dir = mkdtempSync(join(tmpdir(), 'parley-prometheus-'));
    writeFileSync(join(dir, 'token'), METRICS_TOKEN);
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: ruleResource.spec.groups }));
    const target = (app: AppProcess): string => new URL(app.url).host;
    writeFileSync(
      join(dir, 'prometheus.yaml'),
      stringify({
        // Short intervals keep the test short; the rules are the shipped ones. A scrape may take a
        // second on a loaded machine (it reads the queue counts from Redis): the timeout allows it.
        global: { scrape_interval: '3s', scrape_timeout: '3s', evaluation_interval: '1s' },
        rule_files: [join(dir, 'rules.yaml')],
        // What the ServiceMonitor produces: job="parley", component from the Service, the token from the Secret.
        scrape_configs: [
          {
            job_name: 'parley',
            metrics_path: '/metrics',
            authorization: { type: 'Bearer', credentials_file: join(dir, 'token') },
            static_configs: [
              { targets: [target(api)], labels: { component: 'api' } },
              { targets: [target(worker)], labels: { component: 'worker' } },
            ],
          },
        ],
      }),
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yaml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog = (prometheusLog + chunk.toString()).slice(-4000)));
    await eventually(
      async () => {
        // Not listening yet, or 503 while its storage opens: ask again.
        const targets = await fetch(`${prometheusUrl}/api/v1/targets`)
          .then((r) => (r.ok ? (r.json() as Promise<any>) : undefined))
          .catch(() => undefined);
        const active: Array<{ health: string }> = targets?.data?.activeTargets ?? [];
        return active.length === 2 && active.every((t) => t.health === 'up') ? true : undefined;
      },
      30_000,
      'both targets up',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${prometheusLog}`);
    });
  });

  // Runs before withCluster's stop.
  afterAll(() => {
    prometheus?.kill('SIGTERM');
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  let streams: SseClient[] = [];

  it('collects traffic from both processes: requests, a chat/send, replies from the worker, events, a security event', async () => {
    const owner = await tokenFor(uniqueName('owner'));
    const intruder = await tokenFor(uniqueName('intruder'));
    const sessions: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      sessions.push((await http('POST', `${fx.app.url}/v1/sessions`, { token: owner, body: {} })).body.id as string);
    }
    streams = await Promise.all(sessions.map((id) => openSse(`${fx.app.url}/v1/sessions/${id}/events`, owner)));
    const sends = await Promise.all(
      sessions.map((id) =>
        http('POST', `${fx.app.url}/v1/sessions/${id}/messages`, { token: owner, body: { content: 'hello' } }),
      ),
    );
    for (const sent of sends) {
      expect(sent.status).toBe(202);
    }
    for (let i = 0; i < 20; i += 1) {
      await http('GET', `${fx.app.url}/v1/sessions/${sessions[i % 3] as string}/messages`, { token: owner });
    }
    expect((await http('GET', `${fx.app.url}/v1/sessions/${sessions[0] as string}`, { token: intruder })).status).toBe(
      403,
    );
    await Promise.all(streams.map((stream) => stream.waitFor((event) => event.event === 'reply.completed')));
    const sentAndWaited = await http('POST', `${fx.app.url}/v1/chat/send`, {
      token: owner,
      body: { message: 'and wait' },
    });
    expect(sentAndWaited.status).toBe(200);

    // Prometheus has the figures of both processes once it has scraped after the traffic.
    await eventually(
      async () => {
        const replies = await query('sum(parley_replies_total{job="parley",component="worker",outcome="complete"})');
        return Number(replies.data.result[0]?.value[1]) === 4 ? true : undefined;
      },
      20_000,
      'four completed replies scraped from the worker',
    );
    // The api's own scrape must also come after the streams opened (the targets scrape apart).
    await eventually(
      async () => {
        const streamsOpen = await query('sum(parley_sse_streams_open{job="parley"})');
        return Number(streamsOpen.data.result[0]?.value[1]) === 3 ? true : undefined;
      },
      20_000,
      'three open streams scraped from the api',
    );
    // Both processes read the same queue: the figure is read once, never summed per pod.
    const perPod = await query('count(parley_queue_jobs{job="parley",queue="replies",state="waiting"})');
    expect(Number(perPod.data.result[0]?.value[1])).toBe(2);
    // Rates need two samples after the traffic: wait for two more scrapes.
    await sleep(7000);
  });

  it('evaluates every dashboard expression without error, with data wherever traffic exists', async () => {
    const empty: string[] = [];
    for (const { title, expr } of panelTargets) {
      const result = await query(expr);
      expect(result.status, `${title}: ${result.error ?? ''}`).toBe('success');
      if (result.data.result.length === 0 && !ONLY_ON_EVENTS.test(expr)) {
        empty.push(title);
      }
    }
    expect(empty).toEqual([]);
  });

  it('evaluates every alert expression without error, and every series an alert reads exists', async () => {
    for (const rule of rules) {
      const result = await query(rule.expr);
      expect(result.status, `${rule.alert}: ${result.error ?? ''}`).toBe('success');
      // The selectors an alert reads (its figures before thresholds): each must match real series.
      const selectors = [...rule.expr.matchAll(/\b([a-z_]+)\{([^}]*)\}/g)].map((match) => match[0]);
      expect(selectors.length, rule.alert).toBeGreaterThan(0);
      for (const selector of selectors) {
        const series = await query(`count(${selector})`);
        expect(series.data.result.length, `${rule.alert}: ${selector}`).toBe(1);
      }
    }
    const ruleGroups = ((await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as any).data.groups;
    const evaluated = ruleGroups.flatMap((group: any) => group.rules);
    expect(evaluated.map((rule: any) => rule.name).sort()).toEqual(rules.map((rule) => rule.alert).sort());
    for (const rule of evaluated) {
      expect(rule.health, `${rule.name as string}: ${rule.lastError as string}`).toBe('ok');
    }
  });

  it('an idle minute fires nothing, not even a pending alert', async () => {
    for (const stream of streams) {
      stream.close();
    }
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      expect(await alerts()).toEqual([]);
      await sleep(5000);
    }
    const up = await query('up{job="parley"}');
    expect(up.data.result.map((r) => r.value[1])).toEqual(['1', '1']);
  }, 90_000);
});
