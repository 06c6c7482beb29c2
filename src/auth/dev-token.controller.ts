import { Body, Controller, HttpCode, HttpStatus, NotFoundException, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator.js';
import { CommonException, CommonExceptionCode } from '../common/domain.exception.js';
import { Public } from '../common/public.decorator.js';
import { AppConfig } from '../config/app-config.js';
import { RateLimit } from '../throttle/rate-limit.decorator.js';
import { CreateDevTokenDto, DevTokenResponseDto } from './auth.dto.js';
import { TokenService } from './token.service.js';

const DEFAULT_TTL_SECONDS = 3600;

@ApiTags('auth')
@Controller('v1/auth')
export class DevTokenController {
  constructor(
    private readonly tokens: TokenService,
    private readonly config: AppConfig,
  ) {}

  @Public()
  @RateLimit('dev-tokens')
  @Post('dev-token')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({
    summary: 'Issue a development token (only when AUTH_DEV_TOKENS=true; never in production)',
    description:
      'A bearer token for any user id, signed by this server: paste it into "Authorize". Exists only in ' +
      'embedded mode or with AUTH_DEV_TOKENS=true (404 otherwise); limited per client address.',
  })
  @ApiBody({ type: CreateDevTokenDto, examples: { user: { summary: 'A plain user', value: { userId: 'alice' } } } })
  @ApiCreatedResponse({ type: DevTokenResponseDto })
  @ApiErrors(
    400,
    {
      status: 404,
      code: 'not_found',
      message: 'Cannot POST /v1/auth/dev-token',
      description: 'Dev tokens are disabled',
    },
    {
      status: 429,
      code: 'rate_limited',
      message: 'Too many requests; retry after the time in Retry-After',
      description: 'rate_limited: RATE_LIMIT_DEV_TOKENS per client address',
    },
  )
  async create(@Body() dto: CreateDevTokenDto): Promise<DevTokenResponseDto> {
    if (!this.config.auth.devTokens) {
      throw new NotFoundException('Cannot POST /v1/auth/dev-token');
    }
    const ttlSeconds = dto.ttlSeconds ?? Math.min(DEFAULT_TTL_SECONDS, this.config.auth.maxTtlSeconds);
    if (ttlSeconds > this.config.auth.maxTtlSeconds) {
      // The verifier refuses a longer lifetime: never issue a token that cannot be used.
      throw new CommonException(
        CommonExceptionCode.ValidationFailed,
        `ttlSeconds must not be greater than ${this.config.auth.maxTtlSeconds}`,
      );
    }
    const issued = await this.tokens.sign(dto.userId, dto.roles ?? [], ttlSeconds);
    return { token: issued.token, expiresAt: issued.expiresAt.toISOString() };
  }
}
