import type { FastifyInstance } from 'fastify';

interface RoutePattern {
  readonly pattern: RegExp;
  readonly methods: Set<string>;
}

/** `/v1/sessions/:sessionId` → a RegExp that matches one concrete path of it. */
function toPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  // Fastify matches trailing slashes strictly: `/v1/memories/` is another (unknown) path.
  return new RegExp(`^${source}$`);
}

/**
 * The methods each route path answers, collected as Fastify registers routes, so that a request
 * with a known path and a wrong method gets 405 and `Allow` instead of 404.
 */
export class AllowedMethods {
  private readonly routes = new Map<string, RoutePattern>();

  register(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      // A catch-all (the CORS preflight's `OPTIONS *`) answers any path: it says nothing of this one.
      if (route.url === '*' || route.url === '/*') {
        return;
      }
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const known = this.routes.get(route.url) ?? { pattern: toPattern(route.url), methods: new Set<string>() };
      for (const method of methods) {
        known.methods.add(method.toUpperCase());
      }
      this.routes.set(route.url, known);
    });
  }

  /** The methods some route answers for this path (query string ignored); empty when none. */
  for(url: string): string[] {
    const path = url.split('?')[0] ?? '';
    const methods = new Set<string>();
    for (const route of this.routes.values()) {
      if (route.pattern.test(path)) {
        route.methods.forEach((method) => methods.add(method));
      }
    }
    return [...methods].sort();
  }
}

/** One per process: routes are registered once, at start. */
export const allowedMethods = new AllowedMethods();
