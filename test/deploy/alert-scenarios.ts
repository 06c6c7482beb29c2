/**
 * The situations each alert exists for, and those it must sleep through, as series of whole pods
 * (one sample a minute, like a 1-minute scrape). `promtoolTests()` turns them into the input of
 * `promtool test rules` (see alerts.test.ts).
 */

export const MINUTES = 60;

type Component = 'api' | 'worker';
type PerMinute = number | ((minute: number) => number);

interface MetricSpec {
  name: string;
  labels: Record<string, string>;
  kind: 'counter' | 'gauge';
  value: PerMinute;
}

export interface Pod {
  instance: string;
  component: Component;
  /** First and last minute the target exists (a pod added by a scale-up, removed by a scale-down). */
  from: number;
  to: number;
  /** Minutes in which scrapes fail (a container restart): up is 0, and counters start over after. */
  down: ReadonlySet<number>;
  metrics: MetricSpec[];
}

export interface Expectation {
  minute: number;
  /** The alerts firing at that minute, with the labels each carries; every other alert is silent. */
  firing: Array<{ alert: string; labels?: Record<string, string> }>;
}

export interface Scenario {
  name: string;
  pods: Pod[];
  expect: Expectation[];
}

const at = (value: PerMinute, minute: number): number => (typeof value === 'number' ? value : value(minute));
/** `value` before minute `from`, `after` from then on. */
export const from =
  (minute: number, before: number, after: number): PerMinute =>
  (m) =>
    m < minute ? before : after;

function counter(name: string, labels: Record<string, string>, value: PerMinute): MetricSpec {
  return { name, labels, kind: 'counter', value };
}
function gauge(name: string, labels: Record<string, string>, value: PerMinute): MetricSpec {
  return { name, labels, kind: 'gauge', value };
}

export interface Traffic {
  /** Requests a minute to GET /v1/sessions, of which 5xx, and of which answered within 0.1 s / 1 s. */
  reads: PerMinute;
  reads5xx: PerMinute;
  readsUnder100ms: PerMinute;
  readsUnder1s: PerMinute;
  readsUnder5s: PerMinute;
  /** Calls a minute to POST /v1/chat/send (each waits for its reply), of which back within 10 s. */
  sends: PerMinute;
  sendsUnder10s: PerMinute;
  /** Event streams a minute (GET /v1/sessions/:sessionId/events): following their session, answered 200
   * but closed at once (the session's events unreadable), answered 5xx before the stream. */
  sseOpened: PerMinute;
  sseUnavailable: PerMinute;
  sse5xx: PerMinute;
  /** Readiness probes a minute answered 503 (a pod draining or overloaded). */
  probes503: PerMinute;
  cache: { memoryHit: PerMinute; memoryMiss: PerMinute; redisHit: PerMinute; redisMiss: PerMinute };
  securityEvents: PerMinute;
  /** Replies a minute (workers): complete, failed, completed within 5 s / 30 s. */
  complete: PerMinute;
  failed: PerMinute;
  repliesUnder5s: PerMinute;
  repliesUnder30s: PerMinute;
  repliesUnder60s: PerMinute;
  llmCalls: PerMinute;
  llmErrors: PerMinute;
  /** The shared queue, read alike by every pod. */
  waiting: PerMinute;
  active: PerMinute;
  redisUp: PerMinute;
  poolTotal: PerMinute;
  poolWaiting: PerMinute;
}

export const HEALTHY: Traffic = {
  reads: 600,
  reads5xx: 0,
  readsUnder100ms: 570,
  readsUnder1s: 600,
  readsUnder5s: 600,
  sends: 10,
  sendsUnder10s: 9,
  sseOpened: 20,
  sseUnavailable: 0,
  sse5xx: 0,
  probes503: 0,
  cache: { memoryHit: 300, memoryMiss: 100, redisHit: 80, redisMiss: 20 },
  securityEvents: 1,
  complete: 30,
  failed: 0,
  repliesUnder5s: 28,
  repliesUnder30s: 30,
  repliesUnder60s: 30,
  llmCalls: 30,
  llmErrors: 0,
  waiting: 5,
  active: 8,
  redisUp: 1,
  poolTotal: 4,
  poolWaiting: 0,
};

export const IDLE: Traffic = {
  ...HEALTHY,
  reads: 0,
  readsUnder100ms: 0,
  readsUnder1s: 0,
  readsUnder5s: 0,
  sends: 0,
  sendsUnder10s: 0,
  sseOpened: 0,
  cache: { memoryHit: 0, memoryMiss: 0, redisHit: 0, redisMiss: 0 },
  securityEvents: 0,
  complete: 0,
  repliesUnder5s: 0,
  repliesUnder30s: 0,
  repliesUnder60s: 0,
  llmCalls: 0,
  waiting: 0,
  active: 0,
  poolTotal: 1,
};

const RATES = [
  'reads',
  'reads5xx',
  'readsUnder100ms',
  'readsUnder1s',
  'readsUnder5s',
  'sends',
  'sendsUnder10s',
  'sseOpened',
  'sseUnavailable',
  'sse5xx',
  'securityEvents',
  'complete',
  'failed',
  'repliesUnder5s',
  'repliesUnder30s',
  'repliesUnder60s',
  'llmCalls',
  'llmErrors',
] as const;

/** The same total traffic spread over more pods: each pod's rates times `factor(minute)`. */
export function share(t: Traffic, factor: (minute: number) => number): Traffic {
  const scaled: Traffic = { ...t, cache: { ...t.cache } };
  for (const key of RATES) {
    const value = t[key];
    scaled[key] = (m) => at(value, m) * factor(m);
  }
  for (const key of ['memoryHit', 'memoryMiss', 'redisHit', 'redisMiss'] as const) {
    const value = t.cache[key];
    scaled.cache[key] = (m) => at(value, m) * factor(m);
  }
  return scaled;
}

/** Every series one Parley process exports, as its role fills them (counters exist from zero). */
function metricsOf(component: Component, t: Traffic): MetricSpec[] {
  const api = component === 'api';
  const get = { method: 'GET', route: '/v1/sessions' };
  const probe = { method: 'GET', route: '/health/ready' };
  const send = { method: 'POST', route: '/v1/chat/send', status_class: '2xx' };
  const events = { method: 'GET', route: '/v1/sessions/:sessionId/events' };
  const zero = 0;
  return [
    gauge('parley_redis_up', {}, t.redisUp),
    gauge('parley_queue_jobs', { queue: 'replies', state: 'waiting' }, t.waiting),
    gauge('parley_queue_jobs', { queue: 'replies', state: 'active' }, t.active),
    gauge('parley_db_pool_connections', { state: 'total' }, t.poolTotal),
    gauge('parley_db_pool_connections', { state: 'idle' }, (m) => Math.max(0, 10 - at(t.poolTotal, m))),
    gauge('parley_db_pool_connections', { state: 'waiting' }, t.poolWaiting),
    gauge('parley_db_pool_max', {}, 10),
    counter('http_requests_total', { ...probe, status_class: '2xx' }, (m) => 12 - at(t.probes503, m)),
    counter('http_requests_total', { ...probe, status_class: '5xx' }, t.probes503),
    counter(
      'http_requests_total',
      { ...get, status_class: '2xx' },
      api ? (m) => at(t.reads, m) - at(t.reads5xx, m) : zero,
    ),
    counter('http_requests_total', { ...get, status_class: '5xx' }, api ? t.reads5xx : zero),
    counter(
      'http_request_duration_seconds_bucket',
      { ...get, status_class: '2xx', le: '0.1' },
      api ? t.readsUnder100ms : zero,
    ),
    counter(
      'http_request_duration_seconds_bucket',
      { ...get, status_class: '2xx', le: '1' },
      api ? t.readsUnder1s : zero,
    ),
    counter(
      'http_request_duration_seconds_bucket',
      { ...get, status_class: '2xx', le: '5' },
      api ? t.readsUnder5s : zero,
    ),
    counter('http_request_duration_seconds_bucket', { ...get, status_class: '2xx', le: '+Inf' }, api ? t.reads : zero),
    // /v1/chat/send waits for its reply by design: slow, and never part of the API's latency.
    counter('http_request_duration_seconds_bucket', { ...send, le: '1' }, 0),
    counter('http_request_duration_seconds_bucket', { ...send, le: '10' }, api ? t.sendsUnder10s : zero),
    counter('http_request_duration_seconds_bucket', { ...send, le: '+Inf' }, api ? t.sends : zero),
    counter('http_request_duration_seconds_count', send, api ? t.sends : zero),
    // An event stream's request is counted when it ends (it lasts as long as its client stays): its
    // opens are counted by outcome as they happen; the 5xx before a stream starts, at once.
    counter('http_requests_total', { ...events, status_class: '5xx' }, api ? t.sse5xx : zero),
    counter('parley_sse_stream_opens_total', { outcome: 'opened' }, api ? t.sseOpened : zero),
    counter('parley_sse_stream_opens_total', { outcome: 'unavailable' }, api ? t.sseUnavailable : zero),
    counter('parley_cache_requests_total', { tier: 'memory', result: 'hit' }, api ? t.cache.memoryHit : zero),
    counter('parley_cache_requests_total', { tier: 'memory', result: 'miss' }, api ? t.cache.memoryMiss : zero),
    counter('parley_cache_requests_total', { tier: 'redis', result: 'hit' }, api ? t.cache.redisHit : zero),
    counter('parley_cache_requests_total', { tier: 'redis', result: 'miss' }, api ? t.cache.redisMiss : zero),
    counter('parley_security_events_total', { type: 'session_forbidden' }, api ? t.securityEvents : zero),
    counter('parley_security_events_total', { type: 'invalid_token' }, 0),
    counter('parley_replies_total', { outcome: 'complete' }, api ? zero : t.complete),
    counter('parley_replies_total', { outcome: 'failed' }, api ? zero : t.failed),
    counter('parley_replies_total', { outcome: 'fenced' }, 0),
    counter('parley_reply_latency_seconds_bucket', { le: '5' }, api ? zero : t.repliesUnder5s),
    counter('parley_reply_latency_seconds_bucket', { le: '30' }, api ? zero : t.repliesUnder30s),
    counter('parley_reply_latency_seconds_bucket', { le: '60' }, api ? zero : t.repliesUnder60s),
    counter(
      'parley_reply_latency_seconds_bucket',
      { le: '+Inf' },
      api ? zero : (m) => at(t.complete, m) + at(t.failed, m),
    ),
    counter(
      'parley_llm_request_duration_seconds_count',
      { provider: 'openai', outcome: 'ok' },
      api ? zero : (m) => at(t.llmCalls, m) - at(t.llmErrors, m),
    ),
    counter(
      'parley_llm_request_duration_seconds_count',
      { provider: 'openai', outcome: 'error' },
      api ? zero : t.llmErrors,
    ),
    counter('parley_llm_errors_total', { provider: 'openai', kind: 'server' }, api ? zero : t.llmErrors),
  ];
}

export function pod(
  instance: string,
  component: Component,
  traffic: Traffic = HEALTHY,
  life: { from?: number; to?: number; down?: number[] } = {},
): Pod {
  return {
    instance,
    component,
    from: life.from ?? 0,
    to: life.to ?? MINUTES,
    down: new Set(life.down ?? []),
    metrics: metricsOf(component, traffic),
  };
}

/** One value a minute: `_` where the target does not exist or its scrape fails. */
function samples(p: Pod, metric: MetricSpec | 'up'): string {
  const values: string[] = [];
  let total = 0;
  for (let m = 0; m <= MINUTES; m += 1) {
    if (m < p.from || m > p.to) {
      values.push('_');
      continue;
    }
    if (p.down.has(m)) {
      total = 0; // the process restarts: its counters begin again at zero
      values.push(metric === 'up' ? '0' : '_');
      continue;
    }
    if (metric === 'up') {
      values.push('1');
    } else if (metric.kind === 'gauge') {
      values.push(String(at(metric.value, m)));
    } else {
      const first = m === p.from || p.down.has(m - 1);
      total += first ? 0 : at(metric.value, m);
      values.push(String(total));
    }
  }
  return values.join(' ');
}

function selector(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

export interface Rule {
  alert: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function render(template: string, labels: Record<string, string>): string {
  return template.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '');
}

/** The `tests:` of a promtool test file: every alert checked at every expectation of every scenario. */
export function promtoolTests(scenarios: Scenario[], rules: Rule[]): unknown[] {
  return scenarios.map((scenario) => ({
    name: scenario.name,
    interval: '1m',
    input_series: scenario.pods.flatMap((p) => {
      const target = { job: 'parley', instance: p.instance, component: p.component };
      return [
        { series: selector('up', target), values: samples(p, 'up') },
        ...p.metrics.map((metric) => ({
          series: selector(metric.name, { ...target, ...metric.labels }),
          values: samples(p, metric),
        })),
      ];
    }),
    alert_rule_test: scenario.expect.flatMap((expectation) =>
      rules.map((rule) => ({
        eval_time: `${expectation.minute}m`,
        alertname: rule.alert,
        exp_alerts: expectation.firing
          .filter((f) => f.alert === rule.alert)
          .map((f) => {
            const labels = { ...rule.labels, ...f.labels };
            const annotations = Object.fromEntries(
              Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, render(v, labels)]),
            );
            return { exp_labels: labels, exp_annotations: annotations };
          }),
      })),
    ),
  }));
}
