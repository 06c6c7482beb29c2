import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/app-config.js';
import { TokenService } from './token.service.js';

const SECRET = 'token-service-spec-secret-long-enough-0123456789';

function service(): TokenService {
  return new TokenService(loadConfig({ JWT_SECRET: SECRET, DATABASE_URL: 'postgres://unused@127.0.0.1:5432/unused' }));
}

/** `token` with its payload replaced by `claims`, its signature (and so its last characters) kept. */
function withPayload(token: string, claims: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

describe('TokenService: the verified tokens it remembers', () => {
  it('answers a token it verified from memory, and only that exact token', async () => {
    const tokens = service();
    const { token } = await tokens.sign('alice', [], 600);
    expect(tokens.knownUser(token)).toBeUndefined();
    expect((await tokens.verify(token)).id).toBe('alice');
    // The same characters in another string, as every request brings its own.
    expect(tokens.knownUser(` ${token}`.slice(1))?.id).toBe('alice');

    // Another token that ends as the verified one does: found by the same key, never answered by it.
    const forged = withPayload(token, { sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 600 });
    expect(forged.slice(-40)).toBe(token.slice(-40));
    expect(tokens.knownUser(forged)).toBeUndefined();
    await expect(tokens.verify(forged)).rejects.toMatchObject({ code: 'invalid_token' });
    // Nor did it take the verified token's place.
    expect(tokens.knownUser(token)?.id).toBe('alice');
  });

  it('keeps two verified tokens of the same user apart, each answered as its own', async () => {
    const tokens = service();
    const first = (await tokens.sign('bob', [], 600)).token;
    const second = (await tokens.sign('bob', ['admin'], 600)).token;
    await tokens.verify(first);
    await tokens.verify(second);
    expect(tokens.knownUser(first)?.roles).toEqual([]);
    expect(tokens.knownUser(second)?.roles).toEqual(['admin']);
  });
});
