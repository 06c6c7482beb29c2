import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv, type EmbeddedDir } from '../support/embedded.js';
import { http } from '../support/http.js';

const OUTPUT = join(import.meta.dirname, '../../test-output');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Runs one operation through Swagger UI's "Try it out" and returns the status and body shown. */
async function tryOperation(
  page: Page,
  operationId: string,
  input: { body?: unknown; params?: Record<string, string>; edit?: (prefilled: any) => unknown },
): Promise<{ status: number; body: any }> {
  const operation = page.locator(`[id$="-${operationId}"]`);
  if (!(await operation.locator('button.execute').isVisible())) {
    if (!(await operation.locator('button.try-out__btn').isVisible())) {
      await operation.locator('.opblock-summary').first().click();
    }
    await operation.locator('button.try-out__btn').click();
  }
  for (const [name, value] of Object.entries(input.params ?? {})) {
    await operation.locator(`tr[data-param-name="${name}"] input`).fill(value);
  }
  const textarea = operation.locator('textarea.body-param__text');
  if (input.body !== undefined) {
    await textarea.fill(JSON.stringify(input.body));
  }
  if (input.edit !== undefined) {
    // A person edits the prefilled example and keeps the rest as the page shows it.
    await textarea.fill(JSON.stringify(input.edit(JSON.parse(await textarea.inputValue()))));
  }
  // A second execution: clear the first one's answer, so that what is read below is the new one.
  if (await operation.locator('button.btn-clear').isVisible()) {
    await operation.locator('button.btn-clear').click();
    await operation.locator('.live-responses-table .response').waitFor({ state: 'detached' });
  }
  await operation.locator('button.execute').click();
  const response: Locator = operation.locator('.live-responses-table .response').first();
  await response.waitFor();
  const status = Number((await response.locator('.response-col_status').innerText()).trim());
  const text = await response.locator('.response-col_description pre.microlight').first().innerText();
  return { status, body: JSON.parse(text) };
}

describe('Swagger UI, used by a person', () => {
  let dir: EmbeddedDir;
  let app: AppProcess;
  let browser: Browser;

  beforeAll(async () => {
    dir = embeddedDataDir();
    app = await startApp({ env: embeddedEnv(dir.path, { AUTH_DEV_TOKENS: 'true' }) });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await stopAll([app]);
    dir?.remove();
  });

  it('authorizes with a dev token, creates a session and sends a message from the page', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
    await page.goto(`${app.url}/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();

    // Executed as the page prefills it: a plain user's token, never an admin's.
    const issued = await tryOperation(page, 'DevTokenController_create', {});
    expect(issued.status).toBe(201);
    const token = issued.body.token as string;
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
    expect(claims.roles ?? []).toEqual([]);

    await page.locator('.auth-wrapper button.authorize').click();
    await page.locator('.modal-ux input').first().fill(token);
    await page.locator('.modal-ux button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();

    const session = await tryOperation(page, 'SessionController_create', { body: { title: 'from the browser' } });
    expect(session.status).toBe(201);
    expect(session.body.title).toBe('from the browser');

    const sent = await tryOperation(page, 'MessageController_send', {
      params: { sessionId: session.body.id as string },
      edit: (prefilled) => ({ ...prefilled, content: 'hello from Swagger UI' }),
    });
    expect(sent.status).toBe(202);
    expect(sent.body.message).toMatchObject({ seq: 1, role: 'user', content: 'hello from Swagger UI' });
    expect(sent.body.reply).toMatchObject({ seq: 2, role: 'assistant', replyTo: sent.body.message.id });

    // A second send with only the content edited is a new message, not a replay of the first.
    const again = await tryOperation(page, 'MessageController_send', {
      params: { sessionId: session.body.id as string },
      edit: (prefilled) => ({ ...prefilled, content: 'a second message' }),
    });
    expect(again.status).toBe(202);
    expect(again.body.message).toMatchObject({ role: 'user', content: 'a second message' });
    expect(again.body.message.id).not.toBe(sent.body.message.id);
    const stored = await http('GET', `${app.url}/v1/sessions/${session.body.id as string}/messages`, { token });
    expect(
      stored.body.items
        .filter((item: { role: string }) => item.role === 'user')
        .map((item: { content: string }) => item.content),
    ).toEqual(['hello from Swagger UI', 'a second message']);

    // Listing sessions as the page prefills it works at once.
    const listed = await tryOperation(page, 'SessionController_list', {});
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(session.body.id);

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'swagger-ui.png'), fullPage: true });
  });
});
