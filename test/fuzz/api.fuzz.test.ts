import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, http } from '../support/http.js';
import {
  hostileString,
  queryValueFor,
  rarely,
  valueFor,
  type OpenApiDocument,
  type OpenApiOperation,
} from '../support/openapi-arbitraries.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

/**
 * Parley's own fuzzer: requests generated from `/docs-json` for every operation (wrong types,
 * missing and extra fields, boundary sizes, deep nesting, NUL and lone surrogates, odd content
 * types, repeated and malformed query parameters, malformed and foreign ids, hostile headers).
 * Every answer: never a 5xx, every error in the contract's shape with its request id, nothing of
 * another user. FUZZ_RUNS sets the number of cases (CI runs a bounded number), FUZZ_SEED replays
 * a failure (fast-check prints the seed and path of the failing case).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
/** Placeholders for the fuzzer's own ids (upper case: the same id in upper case). */
const OWN = { session: 'own-session-id', message: 'own-message-id', memory: 'own-memory-id' } as const;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  what: string;
}

interface Fixture {
  attacker: { userId: string; token: string; sessionId: string; messageId: string; memoryId: string };
  victim: { userId: string; token: string; sessionId: string; messageId: string; memoryId: string; marker: string };
}

describe('fuzzing every operation of /docs-json', () => {
  const fx = withCluster(1, {
    AUTH_DEV_TOKENS: 'true',
    RATE_LIMIT_DEV_TOKENS: '1000000',
    RATE_LIMIT_INVALID_TOKENS: '1000000',
    MAX_PENDING_REPLIES: '10000',
    REPLY_WAIT_MS: '200',
  });
  let doc: OpenApiDocument;
  let fixture: Fixture;

  beforeAll(async () => {
    process.stdout.write(`fuzz: app started\n`);
    doc = (await http<OpenApiDocument>('GET', `${fx.app.url}/docs-json`)).body;
    fixture = { attacker: await seed(uniqueName('attacker'), 'own'), victim: await victim() };
    const { attacker, victim: v } = fixture;
    doc.knownIds = [attacker.sessionId, attacker.messageId, attacker.memoryId, v.sessionId, v.messageId, v.memoryId];
    process.stdout.write(`fuzz: fixture ready\n`);
  }, 180_000);

  async function seed(userId: string, marker: string): Promise<Fixture['attacker']> {
    const token = await tokenFor(userId);
    const session = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: { title: `${marker} title` } });
    const sent = await http('POST', `${fx.app.url}/v1/sessions/${session.body.id as string}/messages`, {
      token,
      body: { content: `${marker} content` },
    });
    const memory = await http('POST', `${fx.app.url}/v1/memories`, { token, body: { content: `${marker} memory` } });
    return { userId, token, sessionId: session.body.id, messageId: sent.body.message.id, memoryId: memory.body.id };
  }

  async function victim(): Promise<Fixture['victim']> {
    const marker = uniqueName('victimsecret');
    return { ...(await seed(uniqueName('victim'), marker)), marker };
  }

  function idFor(name: string): fc.Arbitrary<string> {
    const { victim: v } = fixture;
    // The fuzzer's own ids are filled in when the request is sent: a DELETE may have replaced them.
    const own = name.includes('memory') ? OWN.memory : name.includes('message') ? OWN.message : OWN.session;
    const foreign = name.includes('memory') ? v.memoryId : name.includes('message') ? v.messageId : v.sessionId;
    return fc.oneof(
      { arbitrary: fc.constantFrom(own, foreign, own.toUpperCase(), foreign.toUpperCase()), weight: 4 },
      { arbitrary: fc.uuid(), weight: 1 },
      { arbitrary: hostileString.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?'))), weight: 2 },
      { arbitrary: fc.constantFrom('%ZZ', '%00', 'a'.repeat(200), `${foreign}x`, `{${foreign}}`, '..'), weight: 1 },
    );
  }

  function authorization(): fc.Arbitrary<string | undefined> {
    const { token } = fixture.attacker;
    return fc.oneof(
      { arbitrary: fc.constantFrom(`Bearer ${token}`, `bearer ${token}`), weight: 8 },
      {
        arbitrary: fc.constantFrom(
          undefined,
          '',
          'Bearer',
          `Basic ${token}`,
          `Bearer ${token}x`,
          `Bearer  ${token}`,
          'Bearer a.b.c',
          `Bearer ${'a'.repeat(5000)}`,
        ),
        weight: 2,
      },
    );
  }

  function hostileHeaders(): fc.Arbitrary<Record<string, string>> {
    const text = fc.string({ maxLength: 200 }).filter((s) => HEADER_VALUE.test(s));
    const hostile = fc.record(
      {
        'x-request-id': fc.oneof(text, fc.constant('a'.repeat(129)), fc.constant('ok-id.1:2')),
        'idempotency-key': fc.oneof(text, fc.constant('k'.repeat(65))),
        'if-none-match': fc.oneof(text, fc.constant('*'), fc.constant('W/"x"')),
        'last-event-id': fc.oneof(text, fc.constantFrom('0-0', '9999999999999-0', '-1', 'x-y')),
        accept: fc.constantFrom('*/*', 'text/event-stream', 'application/xml', ''),
      },
      { requiredKeys: [] },
    );
    // Mostly plain requests, so that what lies behind the headers is reached too.
    return fc.oneof({ arbitrary: fc.constant({}), weight: 2 }, { arbitrary: hostile, weight: 1 });
  }

  function body(
    operation: OpenApiOperation,
  ): fc.Arbitrary<{ body: string | undefined; contentType: string | undefined }> {
    const schema = operation.requestBody?.content?.['application/json']?.schema;
    const json = valueFor(doc, schema).map((value) => JSON.stringify(value));
    const raw = fc.oneof(
      fc.integer({ min: 10, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      fc.constantFrom(
        '',
        '{',
        '{"a":1}}',
        'null',
        '"\\u0000"',
        '{"__proto__":{"x":1}}',
        '{"constructor":{"prototype":{}}}',
      ),
      fc.string({ maxLength: 100 }),
    );
    const contentType = fc.oneof(
      { arbitrary: fc.constant('application/json'), weight: 8 },
      {
        arbitrary: fc.constantFrom(
          undefined,
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/json; charset=latin1',
          'multipart/form-data; boundary=x',
          'application/json;;',
          '*/*',
        ),
        weight: 2,
      },
    );
    return fc.record({
      body: fc.oneof(
        { arbitrary: json, weight: 6 },
        { arbitrary: raw, weight: 2 },
        { arbitrary: fc.constant(undefined), weight: 1 },
      ),
      contentType,
    });
  }

  function requestFor(path: string, method: string, operation: OpenApiOperation): fc.Arbitrary<FuzzRequest> {
    const params = operation.parameters ?? [];
    const pathParams = params.filter((p) => p.in === 'path');
    const queryParams = params.filter((p) => p.in === 'query');
    const filledPath = fc
      .tuple(...pathParams.map((p) => idFor(p.name)))
      .map((values) => pathParams.reduce((url, p, i) => url.replace(`{${p.name}}`, values[i] ?? ''), path));
    const query = fc
      .tuple(
        ...queryParams.map((p) =>
          fc.option(fc.array(queryValueFor(doc, p.schema), { minLength: 1, maxLength: 3 }), { freq: 2 }),
        ),
        rarely(fc.tuple(hostileString, fc.string()), 4),
      )
      .map((values) => {
        const parts: string[] = [];
        queryParams.forEach((p, i) => {
          for (const value of (values[i] as string[] | null) ?? []) {
            parts.push(`${p.name}=${value}`);
          }
        });
        const extra = values[queryParams.length] as [string, string] | null;
        if (extra !== null) {
          parts.push(
            `${encodeURIComponent(extra[0].replace(/[\ud800-\udfff]/g, '?'))}=${encodeURIComponent(extra[1].replace(/[\ud800-\udfff]/g, '?'))}`,
          );
        }
        return parts.length === 0 ? '' : `?${parts.join('&')}`;
      });
    const wrongMethod = rarely(fc.constantFrom(...METHODS.filter((m) => m !== method)), 15);
    return fc
      .record({
        filledPath,
        query,
        auth: authorization(),
        headers: hostileHeaders(),
        payload: body(operation),
        wrongMethod,
      })
      .map(({ filledPath: p, query: q, auth, headers, payload, wrongMethod: other }) => {
        const sendsBody = payload.body !== undefined && (method !== 'get' || other !== null);
        const all: Record<string, string> = { ...headers };
        if (auth !== undefined) {
          all.authorization = auth;
        }
        if (sendsBody && payload.contentType !== undefined) {
          all['content-type'] = payload.contentType;
        }
        const verb = (other ?? method).toUpperCase();
        return {
          method: verb,
          path: `${p}${q}`,
          headers: all,
          body: sendsBody && verb !== 'GET' ? payload.body : undefined,
          what: `${method.toUpperCase()} ${path}`,
        };
      });
  }

  function allOperations(): fc.Arbitrary<FuzzRequest> {
    const arbitraries: fc.Arbitrary<FuzzRequest>[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (operation !== undefined) {
          arbitraries.push(requestFor(path, method, operation));
        }
      }
    }
    return fc.oneof(...arbitraries);
  }

  /** The placeholders replaced by the fuzzer's current ids, as written or in upper case. */
  function withOwnIds(path: string): string {
    const { attacker } = fixture;
    const ids: Array<[string, string]> = [
      [OWN.session, attacker.sessionId],
      [OWN.message, attacker.messageId],
      [OWN.memory, attacker.memoryId],
    ];
    return ids.reduce(
      (url, [placeholder, id]) =>
        url.replaceAll(placeholder.toUpperCase(), id.toUpperCase()).replaceAll(placeholder, id),
      path,
    );
  }

  async function send(request: FuzzRequest): Promise<{ status: number; headers: Headers; text: string }> {
    const response = await sendOnce({ ...request, path: withOwnIds(request.path) });
    if (request.method === 'DELETE' && response.status < 300) {
      // Its own session or memories are gone: fresh ones for the cases that follow.
      fixture.attacker = await seed(fixture.attacker.userId, 'own');
    }
    return response;
  }

  async function sendOnce(request: FuzzRequest): Promise<{ status: number; headers: Headers; text: string }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 15_000);
    try {
      const response = await fetch(`${fx.app.url}${request.path}`, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: controller.signal,
      });
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
        // An open stream: its first chunk is enough; then it is closed.
        const reader = response.body?.getReader();
        const first = await Promise.race([reader?.read(), new Promise((r) => setTimeout(r, 300))]);
        controller.abort();
        const chunk = (first as { value?: Uint8Array } | undefined)?.value;
        return {
          status: response.status,
          headers: response.headers,
          text: chunk ? Buffer.from(chunk).toString('utf8') : '',
        };
      }
      return { status: response.status, headers: response.headers, text: await response.text() };
    } finally {
      clearTimeout(timer);
    }
  }

  it(
    'answers every generated request without a 5xx, in the contract’s error shape, with nothing of another user',
    async () => {
      const operations = allOperations();
      const statuses = new Map<string, number>();
      const { victim: v } = fixture;
      await fc.assert(
        fc.asyncProperty(operations, async (request) => {
          const response = await send(request);
          const tally = `${request.what} ${response.status}`;
          statuses.set(tally, (statuses.get(tally) ?? 0) + 1);
          const context = `${request.what} → ${request.method} ${request.path.slice(0, 300)} ${response.status} ${response.text.slice(0, 300)}`;
          expect(response.status, context).toBeLessThan(500);
          const requestId = response.headers.get('x-request-id');
          expect(requestId, context).toBeTruthy();
          if (response.status >= 400) {
            const error = JSON.parse(response.text) as Record<string, unknown>;
            expect(error, context).toMatchObject({
              statusCode: response.status,
              error: expect.any(String),
              message: expect.any(String),
            });
            expect(error.requestId, context).toBe(requestId);
          }
          for (const secret of [v.marker, v.userId]) {
            expect(response.text.includes(secret), context).toBe(false);
          }
        }),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true },
      );
      const byStatus = new Map<string, number>();
      for (const [tally, count] of statuses) {
        const status = tally.slice(tally.lastIndexOf(' ') + 1);
        byStatus.set(status, (byStatus.get(status) ?? 0) + count);
      }
      process.stdout.write(`fuzz: ${RUNS} cases, statuses ${JSON.stringify(Object.fromEntries(byStatus))}\n`);
      process.stdout.write(`fuzz: by operation ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`);
      // The victim's data is all still there and still theirs.
      const session = await http('GET', `${fx.app.url}/v1/sessions/${v.sessionId}`, { token: v.token });
      expect(session.status).toBe(200);
      expect(session.body.title).toBe(`${v.marker} title`);
      const memories = await eventually(async () => {
        const list = await http('GET', `${fx.app.url}/v1/memories`, { token: v.token });
        return list.status === 200 ? (list.body.items as Array<{ id: string }>) : undefined;
      });
      expect(memories.map((m) => m.id)).toContain(v.memoryId);
      expect((await http('GET', `${fx.app.url}/health/live`)).status).toBe(200);
    },
    Math.max(120_000, RUNS * 100),
  );
});
