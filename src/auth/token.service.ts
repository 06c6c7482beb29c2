import { Injectable } from '@nestjs/common';
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { AppConfig } from '../config/app-config.js';
import { AuthException, AuthExceptionCode } from './auth.exception.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { resolveSigningSecret } from './signing-secret.util.js';
import { isValidSubject } from './subject.util.js';

const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];
/** How far ahead of this clock a token's `iat` may be (clocks of issuers and replicas differ a little). */
export const IAT_SKEW_SECONDS = 60;
/** Verified tokens remembered per process: a client sends the same token with every request. */
const VERIFIED_MAX = 10_000;
const VERIFIED_TTL_MS = 60_000;
/**
 * The verified tokens are found by their last characters, which are their signature's: a token
 * the cache holds is then compared whole. A look-up keyed by the whole token hashed all of its
 * 190 characters and more on every request (each arrives as a new string): about 1.4 µs of a
 * cached read's CPU in a profile of `read-vs-bare`, more than any other look-up of the read.
 */
const KEY_CHARS = 22;

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/** Verifies bearer tokens (algorithms pinned, `exp` required) and signs dev tokens. */
@Injectable()
export class TokenService {
  private readonly secret: Uint8Array | undefined;
  private readonly jwks: JWTVerifyGetKey | undefined;
  private readonly verifyOptions: JWTVerifyOptions;
  /**
   * Token string → its verified user, for at most a minute and never past the token's `exp`: the
   * signature check and claim parsing are the largest fixed cost of a request. Only tokens that
   * passed verification are kept, and an entry answers only the exact string it was made for
   * (found by its last characters, KEY_CHARS: two tokens that end alike only take each other's place).
   */
  private readonly verified = new LRUCache<string, { token: string; user: AuthenticatedUser; expiresAtMs: number }>({
    max: VERIFIED_MAX,
    ttl: VERIFIED_TTL_MS,
    ttlAutopurge: false,
  });

  constructor(private readonly config: AppConfig) {
    const secret = resolveSigningSecret(config);
    this.secret = secret === undefined ? undefined : new TextEncoder().encode(secret);
    this.jwks = config.auth.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(config.auth.jwksUrl));
    this.verifyOptions = {
      algorithms: this.jwks ? ASYMMETRIC_ALGORITHMS : ['HS256'],
      requiredClaims: ['exp', 'sub'],
      ...(config.auth.issuer === undefined ? {} : { issuer: config.auth.issuer }),
      ...(config.auth.audience === undefined ? {} : { audience: config.auth.audience }),
    };
  }

  async verify(token: string): Promise<AuthenticatedUser> {
    return this.knownUser(token) ?? this.verifyOnce(token);
  }

  /** The user of a token this process verified recently and that has not expired since. */
  knownUser(token: string): AuthenticatedUser | undefined {
    const known = this.verified.get(token.slice(-KEY_CHARS));
    return known !== undefined && known.token === token && known.expiresAtMs > Date.now() ? known.user : undefined;
  }

  private async verifyOnce(token: string): Promise<AuthenticatedUser> {
    let payload: JWTPayload;
    try {
      payload = this.jwks
        ? (await jwtVerify(token, this.jwks, this.verifyOptions)).payload
        : (await jwtVerify(token, this.requireSecret(), this.verifyOptions)).payload;
    } catch (error) {
      if (error instanceof errors.JWTExpired) {
        throw new AuthException(AuthExceptionCode.TokenExpired);
      }
      if (error instanceof errors.JOSEError || error instanceof TypeError) {
        throw new AuthException(AuthExceptionCode.InvalidToken);
      }
      throw error;
    }
    const { sub, roles } = payload as JWTPayload & { roles?: unknown };
    if (!isValidSubject(sub) || !this.hasAcceptableLifetime(payload)) {
      throw new AuthException(AuthExceptionCode.InvalidToken);
    }
    const validRoles = Array.isArray(roles) ? roles.filter((role): role is string => typeof role === 'string') : [];
    const expiresAtMs = (payload.exp ?? 0) * 1000;
    const user: AuthenticatedUser = Object.freeze({ id: sub, roles: Object.freeze(validRoles), expiresAtMs });
    if (expiresAtMs > Date.now()) {
      this.verified.set(
        token.slice(-KEY_CHARS),
        { token, user, expiresAtMs },
        { ttl: Math.min(VERIFIED_TTL_MS, expiresAtMs - Date.now()) },
      );
    }
    return user;
  }

  /**
   * `iat` not ahead of this clock beyond the skew, and `exp - iat` (or `exp - now` without `iat`)
   * within JWT_MAX_TTL_SECONDS: a token valid for centuries (`exp: 1e308`) is not a session.
   */
  private hasAcceptableLifetime(payload: JWTPayload): boolean {
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = payload;
    if (typeof exp !== 'number' || (iat !== undefined && iat > now + IAT_SKEW_SECONDS)) {
      return false;
    }
    return exp - (iat ?? now) <= this.config.auth.maxTtlSeconds;
  }

  async sign(userId: string, roles: readonly string[], ttlSeconds: number): Promise<IssuedToken> {
    if (!isValidSubject(userId) || ttlSeconds > this.config.auth.maxTtlSeconds) {
      throw new RangeError('a token must have a valid subject and a lifetime within JWT_MAX_TTL_SECONDS');
    }
    const { issuer, audience } = this.config.auth;
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + ttlSeconds) * 1000);
    let jwt = new SignJWT({ roles: [...roles] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000));
    if (issuer !== undefined) {
      jwt = jwt.setIssuer(issuer);
    }
    if (audience !== undefined) {
      jwt = jwt.setAudience(audience);
    }
    return { token: await jwt.sign(this.requireSecret()), expiresAt };
  }

  private requireSecret(): Uint8Array {
    if (this.secret === undefined) {
      throw new AuthException(AuthExceptionCode.InvalidToken);
    }
    return this.secret;
  }
}
