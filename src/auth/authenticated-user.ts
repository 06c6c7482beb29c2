/** The verified identity of a request: only ever taken from a verified token's claims. */
export interface AuthenticatedUser {
  readonly id: string;
  readonly roles: readonly string[];
  /** When the credential expires (ms since the epoch): a stream opened with it ends then. */
  readonly expiresAtMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: AuthenticatedUser;
  }
}
