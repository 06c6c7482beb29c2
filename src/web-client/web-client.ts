import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** The reference chat page: one HTML file and one ES module, served as they are (no build). */
const PAGE_FILE = 'index.html';
const MODULE_FILE = 'app.js';

/** `web/` beside the compiled code's root (dist/ or a test build of it), found once at start. */
export function findWebClientDir(from: string = import.meta.dirname): string {
  let dir = from;
  for (let depth = 0; depth < 5; depth += 1) {
    const candidate = join(dir, 'web');
    if (existsSync(join(candidate, PAGE_FILE)) && existsSync(join(candidate, MODULE_FILE))) {
      return candidate;
    }
    dir = dirname(dir);
  }
  throw new Error(`the web client (web/${PAGE_FILE}) was not found above ${from}`);
}

/**
 * A strict policy of the page's own: scripts only from this origin (no inline script), the one
 * inline stylesheet by its hash, requests only to this origin, never framed.
 */
export function webClientPolicy(html: string): string {
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(
    (match) =>
      `'sha256-${createHash('sha256')
        .update(match[1] ?? '')
        .digest('base64')}'`,
  );
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${styles.join(' ') || "'none'"}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Serves `/` and `/app.js`; the files are read once, at start. */
export function registerWebClient(fastify: FastifyInstance, dir: string = findWebClientDir()): void {
  const html = readFileSync(join(dir, PAGE_FILE), 'utf8');
  const module = readFileSync(join(dir, MODULE_FILE), 'utf8');
  const policy = webClientPolicy(html);
  const common = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  fastify.get('/', (_request, reply) =>
    reply
      .headers({ ...common, 'content-security-policy': policy, 'referrer-policy': 'no-referrer' })
      .type('text/html; charset=utf-8')
      .send(html),
  );
  fastify.get(`/${MODULE_FILE}`, (_request, reply) =>
    reply.headers(common).type('text/javascript; charset=utf-8').send(module),
  );
}
