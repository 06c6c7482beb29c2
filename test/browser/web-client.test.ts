import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { launchChromium, testOutputPath } from '../support/chromium.js';
import { embeddedDataDir, embeddedEnv, type EmbeddedDir } from '../support/embedded.js';
import { eventually, http } from '../support/http.js';

/** Console errors and page errors: a CSP violation or a script failure shows up here. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) {
      errors.push(message.text());
    }
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

describe('the reference chat page at /', () => {
  let dir: EmbeddedDir;
  let app: AppProcess;
  let browser: Browser;

  beforeAll(async () => {
    dir = embeddedDataDir();
    // No JWT_SECRET: the page's dev token is signed with the embedded secret, as after `npm start`.
    const env = embeddedEnv(dir.path, { LOCAL_LLM_DELAY_MS: '40', MAX_PENDING_REPLIES: '50' });
    delete env.JWT_SECRET;
    app = await startApp({ env });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stopAll([app]);
    dir?.remove();
  });

  it('is served with a strict content security policy of its own', async () => {
    const page = await fetch(`${app.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).toContain("frame-ancestors 'none'");
    expect(await page.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const module = await fetch(`${app.url}/app.js`);
    expect(module.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('goes through dev token, new session, send, streamed reply, reload and history pages', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors = watchErrors(page);
    await page.goto(`${app.url}/`);

    await page.locator('#user-id').fill('page-user');
    await page.locator('#dev-token').click();
    await page.locator('#whoami').getByText('Signed in as page-user').waitFor();

    await page.locator('#new-session').click();
    await page.locator('#stream-state').getByText('live').waitFor();
    const sessionId = /#\/sessions\/([0-9a-f-]{36})$/.exec(page.url())?.[1] as string;
    expect(sessionId).toBeTruthy();

    await page.locator('#content').fill('Hello from the reference page');
    await page.locator('#content').press('Enter');
    const reply = page.locator('#messages li.assistant').first();
    await reply.locator('xpath=self::*[@data-status="complete"]').waitFor({ timeout: 30_000 });
    // The reply arrived through the stream, delta after delta, before it completed.
    expect(Number(await reply.getAttribute('data-deltas'))).toBeGreaterThan(1);
    const replyText = await reply.locator('.content').innerText();
    expect(replyText.length).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#messages li').count()).toBe(2);
    await page.screenshot({ path: testOutputPath('web-client.png') });

    // More history than one page: 10 more exchanges, sent through the API.
    const token = await page.evaluate(() =>
      (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem(
        'parley.token',
      ),
    );
    const path = `${app.url}/v1/sessions/${sessionId}/messages`;
    for (let i = 1; i <= 10; i += 1) {
      expect((await http('POST', path, { token: token as string, body: { content: `message ${i}` } })).status).toBe(
        202,
      );
    }
    await eventually(
      async () => {
        const items = (await http('GET', `${path}?limit=100`, { token: token as string })).body.items as Array<{
          status: string;
        }>;
        return items.length === 22 && items.every((item) => item.status === 'complete') ? true : undefined;
      },
      60_000,
      'every reply',
    );

    await page.reload();
    await page.locator('#older').waitFor();
    await expect.poll(() => page.locator('#messages li').count()).toBe(20);
    expect(await page.locator('#messages li').first().getAttribute('data-seq')).toBe('3');
    await page.locator('#older').click();
    await expect.poll(() => page.locator('#messages li').count()).toBe(22);
    await expect.poll(() => page.locator('#older').isHidden()).toBe(true);
    expect(await page.locator('#messages li .content').first().innerText()).toBe('Hello from the reference page');
    expect(await page.locator('#messages li.assistant .content').first().innerText()).toBe(replyText);
    expect(await page.locator(`#sessions button[data-session-id="${sessionId}"]`).getAttribute('aria-current')).toBe(
      'true',
    );
    await page.screenshot({ path: testOutputPath('web-client-history.png') });

    expect(errors).toEqual([]);
    await page.close();
  });
});
