import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { openDataSource } from './data-source.js';

@Injectable()
class DatabaseShutdown implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy();
    }
  }
}

/** One pool per process, opened and migrated before anything else may query. */
@Global()
@Module({
  providers: [
    { provide: DataSource, inject: [AppConfig], useFactory: (config: AppConfig) => openDataSource(config) },
    DatabaseShutdown,
  ],
  exports: [DataSource],
})
export class DatabaseModule {}
