import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopAll, type AppProcess } from '../support/cluster.js';
import { http } from '../support/http.js';
import { createTestDatabase, productionEnv, uniqueName, type TestDatabase } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';

/** Verified tokens are remembered per process for speed: never past their `exp`. */
describe('a token that was accepted', () => {
  let db: TestDatabase;
  let app: AppProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startApp({ env: productionEnv(db, uniqueName('t')) });
  });

  afterAll(async () => {
    await stopAll([app]);
    await db.drop();
  });

  it('is refused as expired once its exp has passed, however often it was used before', async () => {
    const token = await tokenFor(uniqueName('user'), { ttlSeconds: 8 });
    const exp = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).exp as number;
    for (let i = 0; i < 5; i += 1) {
      expect((await http('GET', `${app.url}/v1/sessions`, { token })).status).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 300));
    const late = await http('GET', `${app.url}/v1/sessions`, { token });
    expect(late.status).toBe(401);
    expect(late.body.code).toBe('token_expired');
  });
});
