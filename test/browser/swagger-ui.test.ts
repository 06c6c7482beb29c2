import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { embeddedDataDir, embeddedEnv, type EmbeddedDir } from '../support/embedded.js';

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
  input: { body?: unknown; params?: Record<string, string> },
): Promise<{ status: number; body: any }> {
  const operation = page.locator(`[id$="-${operationId}"]`);
  await operation.locator('.opblock-summary').first().click();
  await operation.locator('button.try-out__btn').click();
  for (const [name, value] of Object.entries(input.params ?? {})) {
    await operation.locator(`tr[data-param-name="${name}"] input`).fill(value);
  }
  if (input.body !== undefined) {
    await operation.locator('textarea.body-param__text').fill(JSON.stringify(input.body));
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

    const issued = await tryOperation(page, 'DevTokenController_create', { body: { userId: 'browser-user' } });
    expect(issued.status).toBe(201);
    const token = issued.body.token as string;

    await page.locator('.auth-wrapper button.authorize').click();
    await page.locator('.modal-ux input').first().fill(token);
    await page.locator('.modal-ux button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();

    const session = await tryOperation(page, 'SessionController_create', { body: { title: 'from the browser' } });
    expect(session.status).toBe(201);
    expect(session.body.title).toBe('from the browser');

    const sent = await tryOperation(page, 'MessageController_send', {
      params: { sessionId: session.body.id as string },
      body: { content: 'hello from Swagger UI' },
    });
    expect(sent.status).toBe(202);
    expect(sent.body.message).toMatchObject({ seq: 1, role: 'user', content: 'hello from Swagger UI' });
    expect(sent.body.reply).toMatchObject({ seq: 2, role: 'assistant', replyTo: sent.body.message.id });

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'swagger-ui.png'), fullPage: true });
  });
});
