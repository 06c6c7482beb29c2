import { SetMetadata } from '@nestjs/common';

export const ACCEPTS_STREAM_TICKET = 'parley:accepts-stream-ticket';

/**
 * The route also takes `?ticket=` (a stream ticket for its `:sessionId`) instead of a bearer token:
 * only what a browser's EventSource must open, which cannot send an Authorization header.
 */
export const AcceptsStreamTicket = (): MethodDecorator & ClassDecorator => SetMetadata(ACCEPTS_STREAM_TICKET, true);
