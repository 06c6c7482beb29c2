/**
 * `npm run token -- <userId> [--admin] [--ttl seconds]`: prints a bearer token signed with the
 * server's HS256 secret (JWT_SECRET, or the embedded-mode secret kept in DATA_DIR).
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/app-config.js';
import { isValidSubject } from './subject.util.js';
import { TokenService } from './token.service.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { admin: { type: 'boolean', default: false }, ttl: { type: 'string', default: '3600' } },
});
const userId = positionals[0];
if (!isValidSubject(userId)) {
  process.stderr.write('usage: npm run token -- <userId> [--admin] [--ttl seconds]\n');
  process.exit(2);
}
try {
  const config = loadConfig(process.env);
  const issued = await new TokenService(config).sign(userId, values.admin ? ['admin'] : [], Number(values.ttl));
  // stdout carries the token alone, so that TOKEN=$(npm run -s token -- alice) works.
  process.stdout.write(`${issued.token}\n`);
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  process.stderr.write(`token: ${reason.split('\n')[0]}\n`);
  process.exit(1);
}
