import type { LoggerService } from '@nestjs/common';
import { ClsServiceManager } from 'nestjs-cls';
import { pino, stdTimeFunctions, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from '../config/app-config.js';
import { describeError } from './log-safe-error.js';
import type { ParleyClsStore } from './request-context.js';

/** Fields of the current request added to every line, so a line can be traced to its request. */
function contextFields(): Record<string, unknown> {
  const cls = ClsServiceManager.getClsService<ParleyClsStore>();
  if (!cls.isActive()) {
    return {};
  }
  return { requestId: cls.getId(), userId: cls.get('userId'), sessionId: cls.get('sessionId') };
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'parley', pid: process.pid },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: contextFields,
    // Errors, whatever key they are logged under, pass through one filter (see log-safe-error.ts).
    serializers: { err: describeError, error: describeError },
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        '*.headers.authorization',
        'token',
        '*.token',
        'ticket',
        '*.ticket',
        '*.query.ticket',
      ],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** Nest's own start-up chatter (modules loaded, routes mapped) is debug detail, not news. */
const FRAMEWORK_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

/** Nest's LoggerService over pino: structured JSON, one object per line. */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write(context !== undefined && FRAMEWORK_CONTEXTS.has(context) ? 'debug' : 'info', message, context);
  }

  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }

  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }

  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }

  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }

  private write(level: 'info' | 'warn' | 'debug' | 'trace', message: unknown, context?: string): void {
    if (typeof message === 'object' && message !== null) {
      this.logger[level]({ context, ...message });
    } else {
      this.logger[level]({ context }, String(message));
    }
  }
}
