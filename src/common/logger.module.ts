import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';

/** The process's one pino logger, injected with `@Inject(PINO_LOGGER)`. */
export const PINO_LOGGER = Symbol('PINO_LOGGER');

@Global()
@Module({})
export class LoggerModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: LoggerModule,
      providers: [{ provide: PINO_LOGGER, useValue: logger }],
      exports: [PINO_LOGGER],
    };
  }
}
