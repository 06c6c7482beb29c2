import { SignJWT, UnsecuredJWT } from 'jose';
import { TEST_JWT_SECRET } from './services.js';

const key = new TextEncoder().encode(TEST_JWT_SECRET);

export async function tokenFor(
  userId: string,
  options: { roles?: string[]; ttlSeconds?: number; secret?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: options.roles ?? [] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(options.secret === undefined ? key : new TextEncoder().encode(options.secret));
}

/** The tokens an attacker or a broken client would present. */
export async function badTokens(userId: string): Promise<Record<string, string | undefined>> {
  const now = Math.floor(Date.now() / 1000);
  const valid = await tokenFor(userId);
  const [header, payload] = valid.split('.');
  return {
    none: undefined,
    expired: await tokenFor(userId, { ttlSeconds: -120 }),
    forged: await tokenFor(userId, { secret: 'another-secret-that-is-also-long-enough-9876543210' }),
    algNone: new UnsecuredJWT({ sub: userId })
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .encode(),
    tampered: `${header}.${Buffer.from(JSON.stringify({ sub: 'victim', exp: now + 3600 })).toString('base64url')}.${valid.split('.')[2]}`,
    noExp: await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).sign(key),
    garbage: `${payload}`,
  };
}
