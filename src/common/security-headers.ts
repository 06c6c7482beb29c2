import type { FastifyInstance } from 'fastify';

export const NOSNIFF = 'nosniff';

/**
 * Swagger UI keeps the bearer token in localStorage: its page may run only its own scripts, send
 * requests only to Parley, and never be framed by another page.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_PAGE = /^\/docs(\/|$|\?)/;

/**
 * Headers on every answer, errors and 404s included (set on the raw response, which Fastify merges
 * into whatever it sends): `nosniff`, so that no answer is ever read as another type than it says;
 * on Swagger UI also its content security policy and frame protection.
 */
export function registerSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader('x-content-type-options', NOSNIFF);
    if (DOCS_PAGE.test(request.url)) {
      reply.raw.setHeader('content-security-policy', DOCS_CONTENT_SECURITY_POLICY);
      reply.raw.setHeader('x-frame-options', 'DENY');
    }
    done();
  });
}
