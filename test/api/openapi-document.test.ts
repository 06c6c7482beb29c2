import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv, type EmbeddedDir } from '../support/embedded.js';

type Operation = {
  operationId: string;
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; example?: unknown; schema?: { example?: unknown } }>;
  requestBody?: {
    content: Record<string, { example?: unknown; examples?: Record<string, { value: unknown }> }>;
  };
  responses: Record<
    string,
    {
      content?: Record<string, { example?: any; examples?: Record<string, { value: any }>; schema?: unknown }>;
    }
  >;
};

/** The API document as Swagger UI reads it: every trap it could set for a person clicking Execute. */
describe('the OpenAPI document behind Swagger UI', () => {
  let dir: EmbeddedDir;
  let app: AppProcess;
  let document: any;
  let operations: Array<[string, Operation]>;

  beforeAll(async () => {
    dir = embeddedDataDir();
    app = await startApp({ env: embeddedEnv(dir.path) });
    document = await (await fetch(`${app.url}/docs-json`)).json();
    operations = Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
      Object.entries(item).map(
        ([method, operation]) => [`${method.toUpperCase()} ${path}`, operation] as [string, Operation],
      ),
    );
  });

  afterAll(async () => {
    await stopAll([app]);
    dir?.remove();
  });

  const operation = (key: string): Operation => {
    const found = operations.find(([name]) => name === key)?.[1];
    expect(found, key).toBeDefined();
    return found as Operation;
  };

  it('gives every operation a summary and a description', () => {
    const missing = operations.filter(([, op]) => !op.summary?.trim() || !op.description?.trim()).map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('prefills no cursor, event id, ticket or parent id', () => {
    const cursors = new Set([
      'cursor',
      'beforeSeq',
      'lastEventId',
      'ticket',
      'leafId',
      'Last-Event-ID',
      'Idempotency-Key',
    ]);
    const prefilled = operations.flatMap(([name, op]) =>
      (op.parameters ?? [])
        .filter(
          (parameter) =>
            cursors.has(parameter.name) && (parameter.example !== undefined || parameter.schema?.example !== undefined),
        )
        .map((parameter) => `${name} ${parameter.name}`),
    );
    expect(prefilled).toEqual([]);
    const send = document.components.schemas.SendMessageDto.properties;
    expect(send.clientMessageId.example).toBeUndefined();
    expect(send.clientMessageId.description).toMatch(/fresh id per message/i);
    expect(send.parentId.example).toBeUndefined();
  });

  it('sends a body example without an idempotency key, a parent or a session id, and a plain dev-token user', () => {
    const bodies = {
      'POST /v1/sessions/{sessionId}/messages': { content: expect.any(String) },
      'POST /v1/chat/send': { message: expect.any(String) },
      'POST /v1/auth/dev-token': { userId: expect.any(String) },
    };
    for (const [key, expected] of Object.entries(bodies)) {
      const media = operation(key).requestBody?.content['application/json'];
      const examples = Object.values(media?.examples ?? {}).map((example) => example.value);
      expect(examples, key).toHaveLength(1);
      expect(examples[0], key).toStrictEqual(expected);
    }
    expect(document.components.schemas.CreateDevTokenDto.properties.roles.example).toBeUndefined();
  });

  it('documents every error with one example of its own status and a real code; errors are JSON, even on the stream', () => {
    const wrong: string[] = [];
    for (const [name, op] of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || response.content === undefined || name.startsWith('GET /health')) {
          continue;
        }
        const json = response.content['application/json'];
        const example = json?.example;
        if (
          example === undefined ||
          example.statusCode !== Number(status) ||
          !/^[a-z]+(_[a-z]+)*$/.test(example.code)
        ) {
          wrong.push(`${name} ${status}`);
        } else if (example.code === 'session_forbidden' && status !== '403') {
          wrong.push(`${name} ${status} session_forbidden`);
        }
        if (Object.keys(response.content).some((type) => type !== 'application/json')) {
          wrong.push(`${name} ${status} ${Object.keys(response.content).join(',')}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(
      operation('POST /v1/sessions/{sessionId}/messages').responses['422']?.content?.['application/json']?.example.code,
    ).toBe('idempotency_key_reused');
    expect(operation('GET /v1/sessions/{sessionId}/events').description).toMatch(/EventSource/);
    expect(Object.keys(operation('GET /v1/sessions/{sessionId}/events').responses['200']?.content ?? {})).toEqual([
      'text/event-stream',
    ]);
  });

  it('shows a reply as the assistant, and an error only on a failed reply', () => {
    const replies: any[] = [];
    for (const key of ['POST /v1/sessions/{sessionId}/messages', 'POST /v1/chat/send']) {
      for (const status of ['200', '202']) {
        const example = operation(key).responses[status]?.content?.['application/json']?.example;
        expect(example?.message.role, `${key} ${status}`).toBe('user');
        replies.push(example.reply);
      }
    }
    const one = operation('GET /v1/sessions/{sessionId}/messages/{messageId}').responses['200']?.content?.[
      'application/json'
    ];
    replies.push(...Object.values(one?.examples ?? {}).map((example) => example.value));
    const history = operation('GET /v1/sessions/{sessionId}/messages').responses['200']?.content?.['application/json']
      ?.example;
    replies.push(...(history.items as any[]).filter((item) => item.role === 'assistant'));
    expect(replies.length).toBeGreaterThan(5);
    for (const reply of replies) {
      expect(reply.role).toBe('assistant');
      expect(reply.error === undefined).toBe(reply.status !== 'failed');
    }
  });
});
