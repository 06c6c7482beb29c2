import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { openDataSource } from './data-source.js';
import { DatabasePoolMetrics } from './pool-metrics.js';
import { SchemaStatusService } from './schema-status.service.js';

@Injectable()
class DatabaseShutdown implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy();
    }
  }
}

/** One pool per process, opened before anything else may query (migrated first, see main.ts). */
@Global()
@Module({
  providers: [
    { provide: DataSource, inject: [AppConfig], useFactory: (config: AppConfig) => openDataSource(config) },
    DatabaseShutdown,
    SchemaStatusService,
    DatabasePoolMetrics,
  ],
  exports: [DataSource, SchemaStatusService],
})
export class DatabaseModule {}
