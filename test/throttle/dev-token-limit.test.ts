import { describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/cluster.js';
import { http, type HttpResult } from '../support/http.js';
import { uniqueName } from '../support/services.js';
import { withCluster } from '../support/with-cluster.js';

const PER_IP = 10;

describe('dev tokens: 10 per minute per client IP', () => {
  // The proxied process has a key prefix of its own: the two count their clients apart.
  const fx = withCluster([{}, { env: { TRUST_PROXY: '127.0.0.1', REDIS_KEY_PREFIX: uniqueName('t') } }], {
    AUTH_DEV_TOKENS: 'true',
    RATE_LIMIT_DEV_TOKENS: String(PER_IP),
  });
  const direct = (): AppProcess => fx.cluster.apps[0] as AppProcess;
  const proxied = (): AppProcess => fx.cluster.apps[1] as AppProcess;

  const devToken = (app: AppProcess, forwardedFor?: string): Promise<HttpResult> =>
    http('POST', `${app.url}/v1/auth/dev-token`, {
      body: { userId: 'someone' },
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    });

  async function burst(app: AppProcess, addresses: string[]): Promise<number[]> {
    const results = [];
    for (const address of addresses) {
      results.push(await devToken(app, address));
    }
    for (const refused of results.filter((result) => result.status === 429)) {
      expect(refused.body.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('x-ratelimit-limit')).toBe(String(PER_IP));
    }
    return results.map((result) => result.status);
  }

  it('ignores X-Forwarded-For from a client that is not a configured proxy', async () => {
    const spoofed = Array.from({ length: PER_IP + 2 }, (_, i) => `198.51.100.${i + 1}`);
    expect(await burst(direct(), spoofed)).toEqual([...Array<number>(PER_IP).fill(201), 429, 429]);
  });

  it('tracks the forwarded client address behind a trusted proxy', async () => {
    const one = Array.from({ length: PER_IP + 1 }, () => '203.0.113.5');
    expect(await burst(proxied(), one)).toEqual([...Array<number>(PER_IP).fill(201), 429]);
    expect((await devToken(proxied(), '203.0.113.6')).status).toBe(201);
  });

  it('counts the addresses of one IPv6 /64 as one client', async () => {
    const sameNetwork = Array.from({ length: PER_IP + 1 }, (_, i) => `2001:db8:aa:bb::${(i + 1).toString(16)}`);
    expect(await burst(proxied(), sameNetwork)).toEqual([...Array<number>(PER_IP).fill(201), 429]);
    expect((await devToken(proxied(), '2001:db8:aa:bc::1')).status).toBe(201);
  });
});
