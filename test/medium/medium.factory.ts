import 'reflect-metadata';
import type { Abstract, INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CLS_ID, ClsService } from 'nestjs-cls';
import pino from 'pino';
import { AppModule } from '../../src/app.module.js';
import { loadConfig } from '../../src/config/app-config.js';
import { migrate } from '../../src/database/migration-runner.js';
import { SessionRepository } from '../../src/session/session.repository.js';
import {
  createTestDatabase,
  NO_SHEDDING,
  TEST_JWT_SECRET,
  uniqueName,
  type TestDatabase,
} from '../support/services.js';

/**
 * The whole app in this process, without HTTP: real PostgreSQL (a database of its own), the
 * in-process lock, queue and event-stream adapters, and the local responder or an LLM given by
 * `env`. Services are called directly (Immich's medium tests), so a reply's lifecycle, its fencing,
 * retries and ordering are tested in seconds and without spawning processes.
 */
export interface MediumApp {
  readonly db: TestDatabase;
  get<T>(token: Type<T> | Abstract<T> | string | symbol): T;
  /** Runs `work` as a request would: in a CLS context with its own request id. */
  inRequest<T>(work: () => Promise<T>): Promise<T>;
  /** A session of a new owner, stored directly (the cap of sessions per user set high). */
  newSession(title?: string | null): Promise<{ ownerId: string; sessionId: string }>;
  close(): Promise<void>;
}

let requests = 0;

export async function createMediumApp(env: Record<string, string> = {}): Promise<MediumApp> {
  const db = await createTestDatabase('parley_medium');
  let context: INestApplicationContext | undefined;
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      DATABASE_POOL_SIZE: '5',
      JWT_SECRET: TEST_JWT_SECRET,
      LOCAL_LLM_DELAY_MS: '0',
      ...NO_SHEDDING,
      ...env,
    });
    const logger = pino({ level: 'silent' });
    // As main.ts does before the app starts.
    await migrate(config, logger);
    const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, logger), {
      logger: false,
      abortOnError: false,
    });
    context = app;
    await app.init();
    const cls = app.get(ClsService);
    return {
      db,
      get: <T>(token: Type<T> | Abstract<T> | string | symbol): T => app.get<T>(token, { strict: false }),
      inRequest: <T>(work: () => Promise<T>): Promise<T> =>
        cls.run(() => {
          cls.set(CLS_ID, `medium-${process.pid}-${(requests += 1)}`);
          return work();
        }),
      async newSession(title: string | null = null): Promise<{ ownerId: string; sessionId: string }> {
        const ownerId = uniqueName('owner');
        const session = await app.get(SessionRepository).create(ownerId, title, 100);
        return { ownerId, sessionId: session!.id };
      },
      async close(): Promise<void> {
        await app.close();
        await db.drop();
      },
    };
  } catch (error) {
    await context?.close();
    await db.drop();
    throw error;
  }
}
