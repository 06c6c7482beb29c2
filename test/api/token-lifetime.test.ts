import { describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

/** Verified tokens are remembered per process for speed: never past their `exp`. */
describe('a token that was accepted', () => {
  const fx = withCluster(1);

  it('is refused as expired once its exp has passed, however often it was used before', async () => {
    const token = await tokenFor(uniqueName('user'), { ttlSeconds: 8 });
    const exp = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).exp as number;
    for (let i = 0; i < 5; i += 1) {
      expect((await http('GET', `${fx.app.url}/v1/sessions`, { token })).status).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 300));
    const late = await http('GET', `${fx.app.url}/v1/sessions`, { token });
    expect(late.status).toBe(401);
    expect(late.body.code).toBe('token_expired');
  });
});
