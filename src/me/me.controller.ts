import { Body, Controller, Get, Patch } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { RateLimit } from '../throttle/rate-limit.decorator.js';
import { mapMe, MeResponseDto, UpdateMeDto } from './me.dto.js';
import { MeService } from './me.service.js';

@ApiTags('me')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiBadRequestResponse({ type: ErrorResponseDto })
@ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'rate_limited' })
@RateLimit('reads')
@Controller('v1/me')
export class MeController {
  constructor(private readonly me: MeService) {}

  @Get()
  @ApiOperation({
    summary: "The caller's preferences: custom instructions and memory extraction",
    description:
      'Custom instructions reach every prompt of yours right after the system prompt; memoryExtraction false keeps memories from being drawn from your conversations.',
  })
  @ApiOkResponse({ type: MeResponseDto })
  async get(@CurrentUser() user: AuthenticatedUser): Promise<MeResponseDto> {
    return mapMe(await this.me.get(user.id));
  }

  @Patch()
  @RateLimit('sends')
  @ApiOperation({
    summary: "Change the caller's custom instructions or turn memory extraction on or off",
    description: 'instructions: at most 2000 characters, null or blank clears them; memoryExtraction: true or false.',
  })
  @ApiOkResponse({ type: MeResponseDto })
  async update(@CurrentUser() user: AuthenticatedUser, @Body() dto: UpdateMeDto): Promise<MeResponseDto> {
    return mapMe(
      await this.me.update(user.id, { instructions: dto.instructions, memoryExtraction: dto.memoryExtraction }),
    );
  }
}
