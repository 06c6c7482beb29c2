/** The verified identity of a request: only ever taken from a verified token's claims. */
export interface AuthenticatedUser {
  readonly id: string;
  readonly roles: readonly string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: AuthenticatedUser;
  }
}
