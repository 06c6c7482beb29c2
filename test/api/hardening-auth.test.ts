import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { http } from '../support/http.js';
import { TEST_JWT_SECRET, uniqueName } from '../support/services.js';
import { tokenFor } from '../support/tokens.js';
import { withCluster } from '../support/with-cluster.js';

const INVALID_TOKEN_LIMIT = 5;
const key = new TextEncoder().encode(TEST_JWT_SECRET);

/** A token signed with the right secret, with exactly the claims given. */
function signed(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
}

describe('tokens: what the verifier and the dev-token route accept', () => {
  const fx = withCluster(1, {
    AUTH_DEV_TOKENS: 'true',
    RATE_LIMIT_INVALID_TOKENS: String(INVALID_TOKEN_LIMIT),
    RATE_LIMIT_DEV_TOKENS: '1000',
    // Each test presents its invalid tokens from an address of its own.
    TRUST_PROXY: '1',
  });
  const now = (): number => Math.floor(Date.now() / 1000);

  it('a sub with a lone surrogate or NUL: 401 invalid_token, never a 500', async () => {
    for (const sub of ['x\ud800y', '\udc00', 'a\u0000b', '']) {
      const token = await signed({ sub, iat: now(), exp: now() + 600 });
      const response = await http('GET', `${fx.app.url}/v1/sessions`, {
        token,
        headers: { 'x-forwarded-for': '10.9.9.9' },
      });
      expect(response.status, JSON.stringify(sub)).toBe(401);
      expect(response.body.code).toBe('invalid_token');
    }
  });

  it('dev tokens: a userId of 65 emoji (130 UTF-16 units) is 400, 64 emoji gives a token that works', async () => {
    const tooLong = await http('POST', `${fx.app.url}/v1/auth/dev-token`, { body: { userId: '😀'.repeat(65) } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.code).toBe('validation_failed');
    const atLimit = await http('POST', `${fx.app.url}/v1/auth/dev-token`, { body: { userId: '😀'.repeat(64) } });
    expect(atLimit.status).toBe(201);
    expect((await http('GET', `${fx.app.url}/v1/sessions`, { token: atLimit.body.token })).status).toBe(200);
    const nul = await http('POST', `${fx.app.url}/v1/auth/dev-token`, { body: { userId: 'a\u0000b' } });
    expect(nul.status).toBe(400);
  });

  it('bearer in any case is accepted; iat in the future and a lifetime past JWT_MAX_TTL_SECONDS are 401', async () => {
    const token = await tokenFor(uniqueName('user'));
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      const response = await http('GET', `${fx.app.url}/v1/sessions`, {
        headers: { authorization: `${scheme} ${token}` },
      });
      expect(response.status, scheme).toBe(200);
    }
    const sub = uniqueName('user');
    const refused = {
      'iat an hour ahead': await signed({ sub, iat: now() + 3600, exp: now() + 7200 }),
      'exp 1e308': await signed({ sub, iat: now(), exp: 1e308 }),
      'lifetime of a day and a second': await signed({ sub, iat: now(), exp: now() + 86_401 }),
      'no iat, exp in two days': await signed({ sub, exp: now() + 2 * 86_400 }),
    };
    for (const [what, bad] of Object.entries(refused)) {
      const response = await http('GET', `${fx.app.url}/v1/sessions`, {
        token: bad,
        headers: { 'x-forwarded-for': '10.9.9.8' },
      });
      expect(response.status, what).toBe(401);
      expect(response.body.code, what).toBe('invalid_token');
    }
    const accepted = {
      'a day exactly': await signed({ sub, iat: now(), exp: now() + 86_400 }),
      'iat 30 s ahead (clock skew)': await signed({ sub, iat: now() + 30, exp: now() + 3600 }),
      'no iat, exp in an hour': await signed({ sub, exp: now() + 3600 }),
    };
    for (const [what, good] of Object.entries(accepted)) {
      expect((await http('GET', `${fx.app.url}/v1/sessions`, { token: good })).status, what).toBe(200);
    }
    const longDevToken = await http('POST', `${fx.app.url}/v1/auth/dev-token`, {
      body: { userId: 'alice', ttlSeconds: 604_800 },
    });
    expect(longDevToken.status).toBe(400);
  });

  it('invalid and forged tokens are counted as invalid_token and limited per IP; a verified token still passes', async () => {
    const known = await tokenFor(uniqueName('user'));
    expect((await http('GET', `${fx.app.url}/v1/sessions`, { token: known })).status).toBe(200);
    const forged = await tokenFor(uniqueName('victim'), {
      secret: 'another-secret-that-is-also-long-enough-9876543210',
    });
    const before = await securityEventCount();
    const statuses: number[] = [];
    for (let i = 0; i < INVALID_TOKEN_LIMIT + 5; i += 1) {
      const response = await http('GET', `${fx.app.url}/v1/sessions`, {
        token: `${forged}${i % 2 === 0 ? '' : 'x'}`,
        headers: { 'x-forwarded-for': '10.1.1.1' },
      });
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.body.code).toBe('rate_limited');
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    }
    expect(statuses.slice(0, INVALID_TOKEN_LIMIT)).toEqual(Array(INVALID_TOKEN_LIMIT).fill(401));
    expect(statuses.slice(INVALID_TOKEN_LIMIT)).toEqual(Array(5).fill(429));
    expect((await securityEventCount()) - before).toBe(INVALID_TOKEN_LIMIT);
    // Same address, a token this process verified before: not affected.
    const from = (ip: string): Record<string, string> => ({ 'x-forwarded-for': ip });
    expect((await http('GET', `${fx.app.url}/v1/sessions`, { token: known, headers: from('10.1.1.1') })).status).toBe(
      200,
    );
    // Another address is not affected.
    const other = await http('GET', `${fx.app.url}/v1/sessions`, { token: forged, headers: from('10.2.2.2') });
    expect(other.status).toBe(401);
    const logged = fx.app
      .output()
      .split('\n')
      .filter((line) => line.includes('"type":"invalid_token"'));
    expect(logged.length).toBeGreaterThanOrEqual(INVALID_TOKEN_LIMIT);
    expect(logged.join('\n')).not.toContain(forged.split('.')[2]);
  });

  async function securityEventCount(): Promise<number> {
    const text = (await http('GET', `${fx.app.url}/metrics`)).text;
    const line = text.split('\n').find((l) => l.startsWith('parley_security_events_total{type="invalid_token"}'));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  }
});
