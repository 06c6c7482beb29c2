import { Module } from '@nestjs/common';
import { CacheModule } from '../cache/cache.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { SearchController } from './search.controller.js';
import { SearchService } from './search.service.js';

/** GET /v1/search: the caller's messages across all their sessions. */
@Module({
  imports: [CacheModule, MessagesModule],
  controllers: [SearchController],
  providers: [SearchService],
})
export class SearchModule {}
