import { HttpException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RedisService } from '../redis/redis.service.js';
import { ParleyThrottlerGuard } from './parley-throttler.guard.js';
import { IdempotentSend, RateLimit } from './rate-limit.decorator.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';
import { SendRetryDetector } from './send-retry.port.js';
import { throttlerOptions } from './throttle.module.js';

const SESSION = '6f1c2a4e-8b7d-4c3e-9a1f-2d5e7b9c0a11';

class Routes {
  @RateLimit('sends')
  @IdempotentSend()
  chatSend(): void {}

  @RateLimit('sends')
  renameSession(): void {}

  @RateLimit('dev-tokens')
  devToken(): void {}

  health(): void {}
}

class KnownRetries extends SendRetryDetector {
  readonly asked: string[] = [];

  isRetry(sessionId: string | null, ownerId: string, clientMessageId: string): Promise<boolean> {
    this.asked.push(`${sessionId}/${ownerId}/${clientMessageId}`);
    return Promise.resolve(sessionId === SESSION && ownerId === 'alice' && clientMessageId === 'again');
  }
}

interface FakeRequest {
  ip: string;
  user?: { id: string; roles: string[] };
  headers: Record<string, string>;
  params?: Record<string, string>;
  body?: Record<string, unknown>;
}

async function guardFor(
  limits: Record<string, string> = {},
): Promise<{ guard: ParleyThrottlerGuard; retries: KnownRetries; metrics: MetricsService }> {
  const config = loadConfig({ RATE_LIMIT_SENDS: '2', RATE_LIMIT_DEV_TOKENS: '2', ...limits });
  const logger = pino({ level: 'silent' });
  const storage = new RedisThrottlerStorage(new RedisService(config, logger), config, logger);
  const retries = new KnownRetries();
  const metrics = new MetricsService();
  const guard = new ParleyThrottlerGuard(throttlerOptions(config, storage), storage, new Reflector(), metrics, retries);
  await guard.onModuleInit();
  return { guard, retries, metrics };
}

function call(
  guard: ParleyThrottlerGuard,
  handler: keyof Routes,
  request: FakeRequest,
): Promise<{ passed: boolean; status: number; headers: Record<string, string> }> {
  const headers: Record<string, string> = {};
  const reply = {
    header(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
      return reply;
    },
  };
  const context = {
    getHandler: () => Object.getOwnPropertyDescriptor(Routes.prototype, handler)?.value as unknown,
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
  } as unknown as ExecutionContext;
  return guard.canActivate(context).then(
    (passed) => ({ passed, status: 200, headers }),
    (error: unknown) => {
      if (error instanceof HttpException) {
        return { passed: false, status: error.getStatus(), headers };
      }
      throw error;
    },
  );
}

const alice = (body: Record<string, unknown> = {}, headers: Record<string, string> = {}): FakeRequest => ({
  ip: '10.0.0.1',
  user: { id: 'alice', roles: [] },
  headers,
  body,
});

describe('ParleyThrottlerGuard', () => {
  it('limits per verified user with plain headers, and refuses with 429, Retry-After and the same headers', async () => {
    const { guard, metrics } = await guardFor();
    const first = await call(guard, 'chatSend', alice());
    expect(first).toMatchObject({
      passed: true,
      headers: { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1' },
    });
    expect(Number(first.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    await call(guard, 'chatSend', alice());
    const refused = await call(guard, 'chatSend', alice());
    expect(refused.status).toBe(429);
    expect(refused.headers).toMatchObject({ 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Object.keys(refused.headers).some((name) => name.endsWith('-sends'))).toBe(false);
    // Another user has a window of their own.
    expect((await call(guard, 'chatSend', { ...alice(), user: { id: 'bob', roles: [] } })).passed).toBe(true);
    expect((await metrics.throttled.get()).values).toEqual([{ labels: { limit: 'sends' }, value: 1 }]);
  });

  it('lets a retried send through uncounted, with its session from the body (POST /v1/chat/send)', async () => {
    const { guard, retries } = await guardFor();
    const retry = alice({ sessionId: SESSION, clientMessageId: 'again', message: 'hi' });
    for (let i = 0; i < 5; i += 1) {
      expect(await call(guard, 'chatSend', retry)).toMatchObject({
        passed: true,
        headers: { 'x-ratelimit-remaining': '2' },
      });
    }
    expect(retries.asked).toContain(`${SESSION}/alice/again`);
    expect((await call(guard, 'chatSend', alice({ sessionId: SESSION, clientMessageId: 'new' }))).passed).toBe(true);
    expect((await call(guard, 'chatSend', alice({}, { 'idempotency-key': 'other' }))).passed).toBe(true);
    expect((await call(guard, 'chatSend', alice())).status).toBe(429);
    // Still answered once the limit is used up.
    expect((await call(guard, 'chatSend', retry)).passed).toBe(true);
    // The route's :sessionId, with the key in the Idempotency-Key header, is recognised too.
    expect(
      (
        await call(guard, 'chatSend', {
          ...alice({}, { 'idempotency-key': 'again' }),
          params: { sessionId: SESSION },
        })
      ).passed,
    ).toBe(true);
  });

  it('charges a send-limited route that is not a send (a session write), whatever idempotency key it carries', async () => {
    const { guard, retries } = await guardFor();
    const known = {
      ...alice({ sessionId: SESSION, clientMessageId: 'again' }, { 'idempotency-key': 'again' }),
      params: { sessionId: SESSION },
    };
    expect(await call(guard, 'renameSession', known)).toMatchObject({
      passed: true,
      headers: { 'x-ratelimit-remaining': '1' },
    });
    expect(await call(guard, 'renameSession', known)).toMatchObject({
      passed: true,
      headers: { 'x-ratelimit-remaining': '0' },
    });
    expect((await call(guard, 'renameSession', known)).status).toBe(429);
    expect(retries.asked).toEqual([]);
  });

  it('does not ask about a session id that is not a UUID', async () => {
    const { guard, retries } = await guardFor();
    await call(guard, 'chatSend', alice({ sessionId: "x' OR 1=1", clientMessageId: 'again' }));
    expect(retries.asked).toEqual([]);
  });

  it('tracks anonymous routes by client IP, one IPv6 /64 as one client', async () => {
    const { guard, metrics } = await guardFor();
    const from = (ip: string): FakeRequest => ({ ip, headers: {} });
    await call(guard, 'devToken', from('2001:db8:1:2::1'));
    await call(guard, 'devToken', from('2001:db8:1:2:ffff::2'));
    expect((await call(guard, 'devToken', from('2001:db8:1:2:abcd::3'))).status).toBe(429);
    expect((await call(guard, 'devToken', from('2001:db8:1:3::1'))).passed).toBe(true);
    await call(guard, 'devToken', from('192.0.2.7'));
    await call(guard, 'devToken', from('::ffff:192.0.2.7'));
    expect((await call(guard, 'devToken', from('192.0.2.7'))).status).toBe(429);
    expect((await metrics.throttled.get()).values).toEqual([{ labels: { limit: 'dev_tokens' }, value: 2 }]);
  });

  it('never limits a route without @RateLimit', async () => {
    const { guard } = await guardFor();
    for (let i = 0; i < 10; i += 1) {
      expect(await call(guard, 'health', alice())).toEqual({ passed: true, status: 200, headers: {} });
    }
  });
});
