import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import type { Logger } from 'pino';
import { AdminModule } from './admin/admin.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CacheModule } from './cache/cache.module.js';
import { ChatModule } from './chat/chat.module.js';
import { CommonModule } from './common/common.module.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { LoggerModule } from './common/logger.module.js';
import { RequestContextModule } from './common/request-context.module.js';
import { ParleyValidationPipe } from './common/validation.pipe.js';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { CoordinationModule } from './coordination/coordination.module.js';
import { DatabaseModule } from './database/database.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { MeModule } from './me/me.module.js';
import { MEMORY_EXTRACTION_QUEUE } from './memory/memory.constants.js';
import { MemoryModule } from './memory/memory.module.js';
import { MessagesModule } from './messages/messages.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { MonitoringModule } from './monitoring/monitoring.module.js';
import { RedisModule } from './redis/redis.module.js';
import { REPLIES_QUEUE, SUMMARIES_QUEUE } from './replies/replies.constants.js';
import { RepliesModule } from './replies/replies.module.js';
import { SearchModule } from './search/search.module.js';
import { SessionModule } from './session/session.module.js';
import { ThrottleModule } from './throttle/throttle.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(logger),
        CommonModule,
        MetricsModule,
        // Each request's context is opened by a Fastify hook (registerRequestContext, app.setup.ts).
        RequestContextModule,
        DatabaseModule,
        RedisModule,
        CacheModule,
        CoordinationModule.forRoot(config, {
          [REPLIES_QUEUE]: { attempts: 8, backoffMs: 500, lockDurationMs: config.replies.jobLockMs },
          [MEMORY_EXTRACTION_QUEUE]: { attempts: 3, backoffMs: 1000, lockDurationMs: config.replies.jobLockMs },
          [SUMMARIES_QUEUE]: { attempts: 2, backoffMs: 1000, lockDurationMs: config.replies.jobLockMs },
        }),
        AuthModule,
        ThrottleModule.forRoot({ retryDetectorFrom: MessagesModule }),
        SessionModule,
        EventsModule,
        MessagesModule,
        RepliesModule,
        ChatModule,
        MemoryModule,
        MeModule,
        SearchModule,
        HealthModule,
        MonitoringModule,
        AdminModule,
      ],
      providers: [
        {
          provide: APP_PIPE,
          useValue: new ParleyValidationPipe(),
        },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }
}
