import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { TEST_JWT_SECRET, uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

interface LogLine {
  level: string;
  msg: string;
  requestId?: string;
  [key: string]: unknown;
}

describe('logs and the OpenAPI document', () => {
  const fx = withCluster(1, { LOG_LEVEL: 'debug' });

  const logLines = (): LogLine[] =>
    fx.app
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);

  it('writes structured JSON lines with the request id, logs security events, and never the token', async () => {
    const owner = await tokenFor(uniqueName('owner'));
    const intruderId = uniqueName('intruder');
    const intruder = await tokenFor(intruderId);
    const session = await http('POST', `${fx.app.url}/v1/sessions`, { token: owner, body: {} });
    const forbidden = await http('GET', `${fx.app.url}/v1/sessions/${session.body.id as string}`, {
      token: intruder,
      headers: { 'x-request-id': 'probe-forbidden-1' },
    });
    expect(forbidden.status).toBe(403);
    await http('GET', `${fx.app.url}/v1/missing`, { token: intruder, headers: { 'x-request-id': 'probe-missing-1' } });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const lines = logLines();
    const security = lines.find((line) => line.type === 'session_forbidden');
    expect(security).toMatchObject({
      event: 'security',
      userId: intruderId,
      sessionId: session.body.id,
      requestId: 'probe-forbidden-1',
    });
    for (const requestId of ['probe-forbidden-1', 'probe-missing-1']) {
      const access = lines.filter((line) => line.msg === 'request answered' && line.requestId === requestId);
      expect(access, requestId).toHaveLength(1);
    }
    const output = fx.app.output();
    expect(output).not.toContain(owner);
    expect(output).not.toContain(intruder);
    expect(output.toLowerCase()).not.toContain('bearer ');
  });

  it('logs probe and scrape requests at debug, every other request at info', async () => {
    const token = await tokenFor(uniqueName('reader'));
    await http('GET', `${fx.app.url}/health/live`, { headers: { 'x-request-id': 'probe-live-1' } });
    await http('GET', `${fx.app.url}/health/ready`, { headers: { 'x-request-id': 'probe-ready-1' } });
    await http('GET', `${fx.app.url}/metrics`, { headers: { 'x-request-id': 'probe-scrape-1' } });
    await http('GET', `${fx.app.url}/v1/sessions`, { token, headers: { 'x-request-id': 'probe-api-1' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const levelOf = (requestId: string): string | undefined =>
      logLines().find((line) => line.msg === 'request answered' && line.requestId === requestId)?.level;
    expect(levelOf('probe-live-1')).toBe('debug');
    expect(levelOf('probe-ready-1')).toBe('debug');
    expect(levelOf('probe-scrape-1')).toBe('debug');
    expect(levelOf('probe-api-1')).toBe('info');
  });

  it('accepts a token made by `npm run token -- <userId>`', async () => {
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'token', '--', 'cli-user'], {
      env: { PATH: process.env.PATH, JWT_SECRET: TEST_JWT_SECRET },
    });
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const created = await http('POST', `${fx.app.url}/v1/sessions`, { token, body: { title: 'from the CLI token' } });
    expect(created.status).toBe(201);
  });

  it('describes every route with schemas, examples and bearer auth', async () => {
    const docs = await fetch(`${fx.app.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
    const document = (await http('GET', `${fx.app.url}/docs-json`)).body;
    expect(document.openapi).toMatch(/^3\./);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const path of [
      '/v1/auth/dev-token',
      '/v1/sessions',
      '/v1/sessions/{sessionId}',
      '/v1/sessions/{sessionId}/messages',
      '/v1/sessions/{sessionId}/messages/{messageId}',
      '/health/live',
      '/health/ready',
      '/health/startup',
    ]) {
      expect(Object.keys(document.paths), path).toContain(path);
    }
    const missingExamples: string[] = [];
    for (const [schemaName, schema] of Object.entries<any>(document.components.schemas)) {
      for (const [property, definition] of Object.entries<any>(schema.properties ?? {})) {
        // An optional input marked writeOnly has no example on purpose: Swagger UI would prefill it
        // (a fixed idempotency key, an admin role, someone else's session or parent).
        const optionalInput = definition.writeOnly === true && !(schema.required ?? []).includes(property);
        const described =
          definition.example !== undefined ||
          definition.$ref ||
          definition.items?.$ref ||
          definition.allOf ||
          optionalInput;
        if (!described) {
          missingExamples.push(`${schemaName}.${property}`);
        }
      }
    }
    expect(missingExamples).toEqual([]);
  });
});
