import { createHash } from 'node:crypto';
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, type Observable } from 'rxjs';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body's ETag when something already knows it (the cache keeps it with the entry). */
    responseEtag?: string;
  }
}

export function etagOf(body: unknown): string {
  return `W/"${createHash('sha1').update(JSON.stringify(body)).digest('base64url')}"`;
}

/** An entity tag without its weakness marker: `W/"x"` and `"x"` are the same tag to a weak comparison. */
function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** If-None-Match uses the weak comparison (RFC 9110, 13.1.2): a strong copy of a weak tag matches. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) {
    return false;
  }
  const wanted = opaque(etag);
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || opaque(tag) === wanted;
  });
}

/**
 * Adds an ETag derived from the body (a hash of its JSON: equal bodies, equal tags, whichever
 * replica or cache tier answers); a matching If-None-Match answers 304 with no body.
 */
@Injectable()
export class EtagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    return next.handle().pipe(
      map((body: unknown) => {
        const etag = request.responseEtag ?? etagOf(body);
        void reply.header('etag', etag).header('cache-control', 'private, no-cache');
        if (ifNoneMatchHits(request.headers['if-none-match'], etag)) {
          void reply.status(304);
          return undefined;
        }
        return body;
      }),
    );
  }
}
