import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../config/app-config.js';

/**
 * The HS256 secret: JWT_SECRET, or outside production (when no JWKS is configured) a random
 * secret kept in DATA_DIR so that the server and `npm run token` agree across restarts.
 */
export function resolveSigningSecret(config: AppConfig): string | undefined {
  if (config.auth.jwtSecret !== undefined) {
    return config.auth.jwtSecret;
  }
  if (config.nodeEnv === 'production' || config.auth.jwksUrl !== undefined) {
    return undefined;
  }
  const file = join(config.database.dataDir, 'jwt-secret');
  mkdirSync(config.database.dataDir, { recursive: true });
  try {
    writeFileSync(file, randomBytes(48).toString('base64url'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
  }
  return readFileSync(file, 'utf8').trim();
}
