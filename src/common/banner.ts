import type { AppConfig } from '../config/app-config.js';

/** The few lines a developer needs after `npm start` in embedded mode. */
export function embeddedBanner(config: AppConfig, port: number): string {
  const host = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(config.http.host) ? 'localhost' : config.http.host;
  const base = `http://${host}:${port}`;
  const lines = [
    `Parley is running in embedded mode (PGlite in ${config.database.dataDir}, in-process coordination).`,
    'This mode is for one process only; set DATABASE_URL and REDIS_URL to run replicas.',
    `  Chat page:  ${base}/`,
    `  Swagger UI: ${base}/docs`,
    `  Get a token: curl -X POST ${base}/v1/auth/dev-token -H 'content-type: application/json' -d '{"userId":"alice"}'`,
    '               or: TOKEN=$(npm run -s token -- alice)   (then "Authorize" in Swagger UI)',
  ];
  if (!config.webClient.enabled) {
    lines.splice(2, 1);
  }
  if (config.database.url !== undefined) {
    lines[0] = 'Parley is running with in-process coordination (no REDIS_URL).';
  }
  if (!config.auth.devTokens) {
    lines.splice(
      lines.length - 2,
      2,
      '  Tokens: dev tokens are off (AUTH_DEV_TOKENS=false); use a JWT signed with JWT_SECRET.',
    );
  }
  return `${lines.join('\n')}\n`;
}
