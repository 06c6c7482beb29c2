import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessModule } from '../access/access.module.js';
import { AuthGuard } from './auth.guard.js';
import { DevTokenController } from './dev-token.controller.js';
import { InvalidTokenLimiter } from './invalid-token.limiter.js';
import { StreamTicketService } from './stream-ticket.service.js';
import { TokenService } from './token.service.js';

@Module({
  imports: [AccessModule],
  controllers: [DevTokenController],
  providers: [TokenService, InvalidTokenLimiter, StreamTicketService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [TokenService, StreamTicketService],
})
export class AuthModule {}
