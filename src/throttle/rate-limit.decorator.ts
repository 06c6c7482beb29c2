import { SetMetadata } from '@nestjs/common';

export type RateLimitName = 'sends' | 'reads' | 'dev-tokens';
export const RATE_LIMIT = 'parley:rate-limit';

/** Puts a route under one named limit; routes without it (health, metrics, docs) are never limited. */
export const RateLimit = (name: RateLimitName): MethodDecorator & ClassDecorator => SetMetadata(RATE_LIMIT, name);
